"""Constraint presets (published numbers) and user-defined constraint sets."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from marsgis.exceptions import ValidationError
from marsgis.planning import (
    PRESETS,
    ConstraintSet,
    SlopeLimit,
    constraint_set_from_dict,
    get_preset,
    list_presets,
    load_constraints,
)
from marsgis.planning import presets as presets_module

# The table: latitude (south, north), elevation limit, strict, slopes, rocks, ellipse.
TABLE = {
    "mer-a": ((-15, 5), -1300, False, {(2, 1000), (5, 100), (15, 10)}, 0.20, (78, 10)),
    "mer-b": ((-10, 10), -1300, False, {(2, 1000), (5, 100), (15, 10)}, 0.20, (85, 11)),
    "phoenix": ((65, 72), -3500, True, set(), None, (60, 20)),
    "msl": ((-30, 30), -1000, True, {(30, 2)}, None, (25, 20)),
    "insight": ((3, 5), -2500, False, {(15, 84), (15, 2)}, 0.10, (130, 27)),
    "mars2020": ((-30, 30), 500, False, {(30, 2)}, None, (25, 20)),
}
SOURCES = {
    "mer-a": ("Golombek", "2003", "10.1029/2003JE002074"),
    "mer-b": ("Golombek", "2003", "10.1029/2003JE002074"),
    "phoenix": ("Arvidson", "2008", "E00A03"),
    "msl": ("Golombek", "2012", "170"),
    "insight": ("Golombek", "2017", "211"),
    "mars2020": ("Mars 2020", "Grant", "Farley"),
}


@pytest.mark.parametrize("name", list(TABLE))
def test_presets_match_the_published_table(name: str) -> None:
    lat, elev, strict, slopes, rocks, ellipse = TABLE[name]
    cs = get_preset(name)
    assert cs.latitude == lat
    assert cs.max_elevation_m == elev
    assert cs.elevation_strict is strict
    assert {(s.max_deg, s.baseline_m) for s in cs.slopes} == slopes
    assert cs.max_rock_fraction == rocks
    assert cs.ellipse_km == ellipse


@pytest.mark.parametrize("name", list(TABLE))
def test_each_preset_cites_its_source(name: str) -> None:
    doc = inspect.getdoc(PRESETS[name]) or ""
    assert "References" in doc
    for word in SOURCES[name]:
        assert word in doc or word in get_preset(name).source


def test_mars2020_final_ellipse_and_aliases() -> None:
    assert get_preset("mars2020").final_ellipse_km == (7.7, 6.6)
    assert get_preset("MER_A") == get_preset("mer-a")
    assert get_preset("curiosity") == get_preset("msl")
    assert list_presets() == list(TABLE)
    assert presets_module.__doc__ is not None


def test_unknown_preset_lists_the_known_ones() -> None:
    with pytest.raises(ValidationError, match=r"unknown constraint preset 'viking'.*mer-a"):
        get_preset("viking")


def test_yaml_file_text_and_dict_agree(tmp_path: Path) -> None:
    text = """
name: my-lander
base: msl
latitude: [-20, 10]
slopes:
  - {max_deg: 12, baseline_m: 50}
max_rock_fraction: 0.15
"""
    path = tmp_path / "c.yaml"
    path.write_text(text)
    from_file = load_constraints(path)
    from_text = load_constraints(text)
    assert from_file == from_text
    assert from_file.latitude == (-20.0, 10.0)
    assert from_file.max_elevation_m == -1000.0  # from the msl base
    assert from_file.slopes == (SlopeLimit(12.0, 50.0),)
    assert from_file.keys == ("latitude", "elevation", "slope_50m", "rocks")
    assert load_constraints(from_file.to_dict()) == from_file


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "x", "latitude": [10, -10]}, r"south 10 above north -10"),
        ({"name": "x", "latitude": [-95, 0]}, r"latitude south = -95(\.0)? is outside"),
        ({"name": "x", "elevation": -1}, r"unknown constraint key\(s\) \['elevation'\]"),
        ({"name": "x", "slopes": [{"max_deg": 95, "baseline_m": 1}]}, r"max_deg = 95(\.0)?"),
        ({"name": "x", "slopes": [{"max_deg": 5}]}, r"slopes\[0\].*max_deg and baseline_m"),
        (
            {"name": "x", "slopes": [{"max_deg": 5, "baseline_m": 0}]},
            r"baseline_m = 0.0 must be > 0",
        ),
        ({"name": "x", "max_rock_fraction": 1.5}, r"max_rock_fraction = 1\.5 is outside"),
        ({"name": "x", "ellipse_km": [5, 10]}, r"major ≥ minor"),
        ({"name": "x", "max_elevation_m": "low"}, r"max_elevation_m must be a number, got 'low'"),
        ({"latitude": [0, 1]}, r"needs a 'name'"),
        ({"name": "x", "base": "viking"}, r"unknown constraint preset"),
    ],
)
def test_bad_user_sets_are_refused_clearly(data: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        constraint_set_from_dict(data)


def test_bad_yaml_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="not valid YAML"):
        load_constraints("name: [unclosed\n  x: 1\n")
    with pytest.raises(ValidationError, match="unknown constraint preset .just-a-word."):
        load_constraints("just-a-word")
    with pytest.raises(ValidationError, match="does not exist"):
        load_constraints(tmp_path / "missing.yaml")


def test_constraint_set_limit_text() -> None:
    cs = get_preset("mer-a")
    assert cs.limit_text("latitude") == "15°S to 5°N"
    assert cs.limit_text("elevation") == "≤ -1300 m"
    assert cs.limit_text("slope_1000m") == "slope < 2° @ 1 km"
    assert cs.limit_text("rocks") == "< 20 % rock abundance"
    assert isinstance(cs, ConstraintSet)
