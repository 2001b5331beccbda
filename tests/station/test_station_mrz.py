"""MRZ check digits against the ICAO Doc 9303 Part 4 TD3 specimen (Anna Maria Eriksson)."""

from __future__ import annotations

from datetime import date

import pytest

from marsgis.exceptions import ValidationError
from marsgis.station import make_td3, parse_td3
from marsgis.station.seed import generate_station

# ICAO Doc 9303 Part 4 (8th ed.), Appendix A: the specimen passport's MRZ
SPECIMEN = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
)
# the check digits the specimen publishes: document number, birth, expiry, optional, composite
PUBLISHED = {"document": "6", "birth": "2", "expiry": "9", "optional": "1", "composite": "0"}


def _icao_digit(field: str) -> str:
    """Doc 9303 Part 3 §4.9: weights 7, 3, 1; A=10 ... Z=35, '<' = 0; sum mod 10."""

    def value(c: str) -> int:
        if c.isdigit():
            return int(c)
        return 0 if c == "<" else ord(c) - 55

    return str(sum(value(c) * (7, 3, 1)[i % 3] for i, c in enumerate(field)) % 10)


def test_specimen_digits_by_the_published_rule() -> None:
    line = SPECIMEN.splitlines()[1]
    assert _icao_digit(line[0:9]) == line[9] == PUBLISHED["document"]
    assert _icao_digit(line[13:19]) == line[19] == PUBLISHED["birth"]
    assert _icao_digit(line[21:27]) == line[27] == PUBLISHED["expiry"]
    assert _icao_digit(line[28:42]) == line[42] == PUBLISHED["optional"]
    composite = line[0:10] + line[13:20] + line[21:43]
    assert _icao_digit(composite) == line[43] == PUBLISHED["composite"]


def test_specimen_generated_and_read_by_the_library() -> None:
    zone = make_td3(
        surname="ERIKSSON",
        given_names="ANNA MARIA",
        document_number="L898902C3",
        issuing_state="UTO",
        nationality="UTO",
        birth_date=date(1974, 8, 12),
        sex="F",
        expires_on=date(2012, 4, 15),
        optional_data="ZE184226B",
    )
    assert zone == SPECIMEN
    data = parse_td3(SPECIMEN)
    assert (data.surname, data.given_names, data.document_number) == (
        "ERIKSSON",
        "ANNA MARIA",
        "L898902C3",
    )
    assert (data.birth_date, data.expires_on, data.sex) == (
        date(1974, 8, 12),
        date(2012, 4, 15),
        "F",
    )


@pytest.mark.parametrize("position", [9, 19, 27, 42, 43])
def test_each_wrong_check_digit_refused(position: int) -> None:
    lines = SPECIMEN.splitlines()
    digit = lines[1][position]
    wrong = str((int(digit) + 1) % 10)
    tampered = lines[0] + "\n" + lines[1][:position] + wrong + lines[1][position + 1 :]
    with pytest.raises(ValidationError, match="fails its ICAO 9303 checks"):
        parse_td3(tampered)


def test_seeded_passports_verify_by_the_published_rule() -> None:
    plan = generate_station(seed=11, passengers=300)
    for p in plan.passengers:
        line = p["mrz"].splitlines()[1]
        composite = line[0:10] + line[13:20] + line[21:43]
        assert _icao_digit(line[0:9]) == line[9]
        assert _icao_digit(line[13:19]) == line[19]
        assert _icao_digit(line[21:27]) == line[27]
        assert _icao_digit(composite) == line[43]
    assert generate_station(seed=11, passengers=300).digest == plan.digest
    assert generate_station(seed=12, passengers=300).digest != plan.digest


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("document_number", "L898902C34", "document number"),
        ("issuing_state", "UT", "states"),
        ("sex", "Q", "sex"),
        ("surname", "ERIKSSON3", "surname"),
        ("optional_data", "ZE184226B-EXTRA1", "optional data"),
    ],
)
def test_unwritable_fields_refused(field: str, value: str, named: str) -> None:
    fields: dict[str, object] = {
        "surname": "ERIKSSON",
        "given_names": "ANNA MARIA",
        "document_number": "L898902C3",
        "issuing_state": "UTO",
        "nationality": "UTO",
        "birth_date": date(1974, 8, 12),
        "sex": "F",
        "expires_on": date(2012, 4, 15),
    }
    fields[field] = value
    with pytest.raises(ValidationError, match=named):
        make_td3(**fields)  # type: ignore[arg-type]


def test_unspecified_sex_written_as_filler() -> None:
    """Doc 9303 Part 4: sex F, M or '<' (unspecified) in the zone; 'X' is the visual zone's."""
    zone = make_td3(
        surname="ERIKSSON",
        given_names="ANNA MARIA",
        document_number="L898902C3",
        issuing_state="UTO",
        nationality="UTO",
        birth_date=date(1974, 8, 12),
        sex="X",
        expires_on=date(2012, 4, 15),
        optional_data="ZE184226B",
    )
    assert zone == SPECIMEN.replace("7408122F", "7408122<")
    assert parse_td3(zone).sex == "<"
