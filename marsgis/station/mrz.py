"""Machine-readable zones (ICAO Doc 9303 TD3, passports) read and written with the ``mrz`` library.

The check digits (document number, birth date, expiry date, optional data and the composite)
are computed and verified by `mrz <https://github.com/Arg0s1080/mrz>`_, not here.

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

from dataclasses import dataclass
from datetime import date
from typing import Any

from marsgis.exceptions import DependencyNotFoundError, ValidationError

__all__ = ["MRZData", "make_td3", "parse_td3"]

#: Two-digit years at or below this are 20xx in birth dates (ICAO leaves the century open).
_BIRTH_PIVOT = 40


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


def _library() -> tuple[Any, Any, type[Exception]]:
    try:
        from mrz.base.errors import FieldError
        from mrz.checker.td3 import TD3CodeChecker
        from mrz.generator.td3 import TD3CodeGenerator
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise DependencyNotFoundError(
            "reading travel documents needs the mrz library: pip install mrz"
        ) from exc
    return TD3CodeChecker, TD3CodeGenerator, FieldError


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
    checker_cls, _, field_error = _library()
    if not isinstance(zone, str):
        raise ValidationError(f"MRZ {zone!r} must be a string of two 44-character lines")
    text = zone.strip().replace("\r\n", "\n")
    try:
        checker = checker_cls(text)
    except field_error as exc:
        raise ValidationError(
            f"MRZ {text!r} is not a TD3 zone ({exc}); give the two 44-character lines of the "
            "passport's data page, separated by a newline"
        ) from exc
    if not bool(checker):
        problems = ", ".join(checker.report.errors) or "invalid"
        raise ValidationError(
            f"MRZ {text!r} fails its ICAO 9303 checks: {problems}; re-read the zone from the "
            "document (a wrong character changes a check digit)"
        )
    f = checker.fields()
    return MRZData(
        document_type=str(f.document_type),
        issuing_state=str(f.country),
        surname=str(f.surname),
        given_names=str(f.name),
        document_number=str(f.document_number),
        nationality=str(f.nationality),
        birth_date=_date(str(f.birth_date), birth=True, what="birth date", zone=text),
        sex=str(f.sex),
        expires_on=_date(str(f.expiry_date), birth=False, what="expiry date", zone=text),
        optional_data=str(f.optional_data),
    )


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
    """The TD3 zone of a passport, check digits computed by the ``mrz`` library."""
    _, generator_cls, field_error = _library()
    try:
        code = generator_cls(
            "P",
            issuing_state,
            surname,
            given_names,
            document_number,
            nationality,
            birth_date.strftime("%y%m%d"),
            sex,
            expires_on.strftime("%y%m%d"),
            optional_data,
        )
    except field_error as exc:
        raise ValidationError(
            f"cannot write an MRZ for document {document_number!r} ({exc}); use upper-case "
            "Latin letters, digits, ISO 3166 alpha-3 states and sex F, M or X"
        ) from exc
    return str(code)
