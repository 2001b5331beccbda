"""Machine-readable zones (ICAO Doc 9303 TD3, passports) read and written with ``passporteye``.

The check digits (document number, birth date, expiry date, optional data and the composite)
are computed and verified by `PassportEye <https://github.com/konstantint/PassportEye>`_
(:class:`passporteye.mrz.text.MRZ` and :class:`passporteye.mrz.text.MRZCheckDigit`), not here.
PassportEye is MIT licensed, like its dependencies (BSD, MIT, Apache-2.0), so it can ship with
Apache-2.0 marsgis; the ``mrz`` package used before is GPL-3.0. PassportEye has no MRZ writer:
:func:`make_td3` lays the fields out as Doc 9303 Part 4 §4.2.2 prescribes and takes every check
digit from the library. Importing ``passporteye`` loads its OCR stack (scikit-image,
scikit-learn, matplotlib): it happens on the first call here, not on ``import marsgis.station``.

>>> zone = make_td3(
...     surname="ERIKSSON", given_names="ANNA MARIA", document_number="L898902C3",
...     issuing_state="UTO", nationality="UTO", birth_date=date(1974, 8, 12), sex="F",
...     expires_on=date(2012, 4, 15), optional_data="ZE184226B")
>>> print(zone)
P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<
L898902C36UTO7408122F1204159ZE184226B<<<<<10
>>> parse_td3(zone).document_number
'L898902C3'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from marsgis.exceptions import DependencyNotFoundError, ValidationError

__all__ = ["MRZData", "make_td3", "parse_td3"]

#: Two-digit years at or below this are 20xx in birth dates (ICAO leaves the century open).
_BIRTH_PIVOT = 40
#: TD3: two lines of 44 characters from the MRZ alphabet (Doc 9303 Part 3 §4.3).
_TD3_LINE = re.compile(r"[A-Z0-9<]{44}")
#: The check digits PassportEye verifies for TD3, in its ``valid_check_digits`` order.
_DIGITS = ("document number", "birth date", "expiry date", "composite", "optional data")


@dataclass(frozen=True)
class MRZData:
    """The fields of a verified TD3 machine-readable zone."""

    document_type: str
    issuing_state: str
    surname: str
    given_names: str
    document_number: str
    nationality: str
    birth_date: date
    sex: str
    expires_on: date
    optional_data: str


def _library() -> tuple[Any, Any]:
    try:
        from passporteye.mrz.text import MRZ, MRZCheckDigit
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise DependencyNotFoundError(
            "reading travel documents needs the passporteye library: pip install passporteye"
        ) from exc
    return MRZ, MRZCheckDigit


def _date(yymmdd: str, *, birth: bool, what: str, zone: str) -> date:
    try:
        yy, mm, dd = int(yymmdd[0:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
        century = 1900 if birth and yy > _BIRTH_PIVOT else 2000
        return date(century + yy, mm, dd)
    except ValueError as exc:
        raise ValidationError(f"the {what} {yymmdd!r} of MRZ {zone!r} is not a date") from exc


def parse_td3(zone: str) -> MRZData:
    """Verify a two-line TD3 zone (2 x 44 characters) and return its fields.

    Raises
    ------
    ValidationError
        The zone is malformed or a check digit is wrong (the message lists which).
    """
    mrz_cls, _ = _library()
    if not isinstance(zone, str):
        raise ValidationError(f"MRZ {zone!r} must be a string of two 44-character lines")
    text = zone.strip().replace("\r\n", "\n")
    lines = text.split("\n")
    if len(lines) != 2 or not all(_TD3_LINE.fullmatch(line) for line in lines):
        raise ValidationError(
            f"MRZ {text!r} is not a TD3 zone; give the two 44-character lines (A-Z, 0-9, <) of "
            "the passport's data page, separated by a newline"
        )
    parsed = mrz_cls(lines)
    if parsed.mrz_type != "TD3" or not lines[0].startswith("P"):
        raise ValidationError(
            f"MRZ {text!r} is not a passport (TD3) zone; its first line must start with 'P'"
        )
    if not parsed.valid:
        wrong = [
            what for what, ok in zip(_DIGITS, parsed.valid_check_digits, strict=True) if not ok
        ]
        problems = ", ".join(f"{what} check digit" for what in wrong) or "invalid"
        raise ValidationError(
            f"MRZ {text!r} fails its ICAO 9303 checks: {problems}; re-read the zone from the "
            "document (a wrong character changes a check digit)"
        )
    return MRZData(
        document_type=str(parsed.type).rstrip("<"),
        issuing_state=str(parsed.country),
        surname=str(parsed.surname),
        given_names=str(parsed.names),
        document_number=str(parsed.number).rstrip("<"),
        nationality=str(parsed.nationality),
        birth_date=_date(str(parsed.date_of_birth), birth=True, what="birth date", zone=text),
        sex=str(parsed.sex),
        expires_on=_date(str(parsed.expiration_date), birth=False, what="expiry date", zone=text),
        optional_data=str(parsed.personal_number).rstrip("<"),
    )


def _field(value: str, width: int, what: str, allowed: str) -> str:
    """``value`` in MRZ characters, padded with fillers to ``width``."""
    text = value.upper().replace(" ", "<").replace("-", "<")
    if len(text) > width or not re.fullmatch(f"[{allowed}]*", text):
        raise ValidationError(
            f"cannot write the {what} {value!r} into an MRZ: it must be at most {width} "
            f"characters from {allowed.replace('<', ' ')} (spaces and hyphens become '<')"
        )
    return text.ljust(width, "<")


def make_td3(
    *,
    surname: str,
    given_names: str,
    document_number: str,
    issuing_state: str,
    nationality: str,
    birth_date: date,
    sex: str,
    expires_on: date,
    optional_data: str = "",
) -> str:
    """The TD3 zone of a passport, check digits computed by the ``passporteye`` library.

    Raises
    ------
    ValidationError
        A field has characters outside A-Z, 0-9 (and spaces or hyphens in names) or does not fit
        its width; states are 3 letters, sex is F, M or X (written ``<`` in the zone, as
        Doc 9303 has it for unspecified).
    """
    mrz_cls, check_digit = _library()
    state = _field(issuing_state, 3, "issuing state", "A-Z<")
    nation = _field(nationality, 3, "nationality", "A-Z<")
    if len(issuing_state) != 3 or len(nationality) != 3:
        raise ValidationError(
            f"cannot write an MRZ for states {issuing_state!r}/{nationality!r}; use ISO 3166 "
            "alpha-3 codes (three letters, e.g. 'UTO', 'DEU')"
        )
    if sex not in ("F", "M", "X", "<"):
        raise ValidationError(f"cannot write an MRZ with sex {sex!r}; use F, M or X")
    sex_code = "<" if sex == "X" else sex  # the zone writes "unspecified" as the filler
    name = _field(
        _field(surname, 39, "surname", "A-Z<").rstrip("<")
        + "<<"
        + _field(given_names, 39, "given names", "A-Z<").rstrip("<"),
        39,
        "full name (surname << given names)",
        "A-Z<",
    )
    number = _field(document_number, 9, "document number", "A-Z0-9<")
    optional = _field(optional_data, 14, "optional data", "A-Z0-9<")
    birth, expiry = birth_date.strftime("%y%m%d"), expires_on.strftime("%y%m%d")
    number_cd = check_digit.compute(number)
    birth_cd = check_digit.compute(birth)
    expiry_cd = check_digit.compute(expiry)
    optional_cd = check_digit.compute(optional)
    composite = check_digit.compute(
        number + number_cd + birth + birth_cd + expiry + expiry_cd + optional + optional_cd
    )
    line1 = "P<" + state + name
    line2 = (
        f"{number}{number_cd}{nation}{birth}{birth_cd}{sex_code}{expiry}{expiry_cd}"
        f"{optional}{optional_cd}{composite}"
    )
    if not mrz_cls([line1, line2]).valid:  # pragma: no cover - the library's own round trip
        raise ValidationError(
            f"the MRZ written for document {document_number!r} does not verify; report this"
        )
    return f"{line1}\n{line2}"
