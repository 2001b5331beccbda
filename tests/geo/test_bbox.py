"""One lon/lat box check for every surface (CLI --bbox, API ?bbox=, catalog, terrain windows)."""

from __future__ import annotations

import pytest

from marsgis.exceptions import CoordinateError
from marsgis.geo import check_bbox, parse_bbox


def test_boxes_in_both_conventions_and_across_180() -> None:
    assert parse_bbox("136.5,-6,138.5,-4") == (136.5, -6.0, 138.5, -4.0)
    assert parse_bbox(" 350, -5 ,10,5") == (350.0, -5.0, 10.0, 5.0)  # west > east: crosses 0°/360°
    assert check_bbox((170, -90, -170, 90)) == (170.0, -90.0, -170.0, 90.0)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1,2,3", r"'1,2,3' must be four numbers W,S,E,N"),
        ("a,b,c,d", r"'a,b,c,d' must be four numbers W,S,E,N"),
        ("1,5,2,4", r"needs -90 <= south <= north <= 90"),
        ("1,-95,2,4", r"needs -90 <= south <= north <= 90"),
        ("1,nan,2,3", r"must be finite degrees"),
    ],
)
def test_bad_boxes_name_the_value(value: str, message: str) -> None:
    with pytest.raises(CoordinateError, match=message):
        parse_bbox(value, what="--bbox")
