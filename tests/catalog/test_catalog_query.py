"""``marsgis.catalog.shipped_items``: the shipped catalog searched in memory.

Expected sets come from the items' own footprints (shapely boxes in 0–360 °E) and properties,
not from the code under test.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pystac
import pytest
from shapely.geometry import box

import marsgis.catalog as cat
from marsgis.exceptions import ValidationError


def _items() -> list[pystac.Item]:
    return list(cat.shipped_catalog().get_items(recursive=True))


def _boxes_meeting(west: float, south: float, east: float, north: float) -> set[str]:
    query = box(west, south, east, north)
    return {i.id for i in _items() if i.bbox is not None and box(*i.bbox).intersects(query)}


@pytest.mark.parametrize(
    ("given", "in_0_360"),
    [
        ((137.2, -5.0, 137.6, -4.4), (137.2, -5.0, 137.6, -4.4)),  # Gale
        ((-30.0, -5.0, -20.0, 5.0), (330.0, -5.0, 340.0, 5.0)),  # west longitudes
        ("170,-10,-170,10", (170.0, -10.0, 190.0, 10.0)),  # across 180°, as text
    ],
)
def test_bbox_in_either_longitude_convention(given: object, in_0_360: tuple[float, ...]) -> None:
    found = [i.id for i in cat.shipped_items(bbox=given)]  # type: ignore[arg-type]
    assert set(found) == _boxes_meeting(*in_0_360)
    assert len(found) == len(set(found)) < len(_items())


def test_datetime_collections_ids_and_geometry_combine() -> None:
    when = datetime(1999, 6, 1, tzinfo=UTC)
    found = {i.id for i in cat.shipped_items(datetime="1999-06-01T00:00:00Z")}
    expected = set()
    for item in _items():
        start = item.datetime or item.common_metadata.start_datetime
        end = item.datetime or item.common_metadata.end_datetime
        assert start is not None and end is not None
        if start <= when <= end:
            expected.add(item.id)
    assert found == expected == {"mola", "gale-mola"}
    point = {"type": "Point", "coordinates": [139.0, -3.0]}  # east of Gale: its MOLA window
    dems = {i.id for i in cat.shipped_items(intersects=point, collections=["marsgis-dems"])}
    assert dems == {"mola", "gale-mola"}
    assert [i.id for i in cat.shipped_items(ids=["craters"])] == ["craters"]


def test_results_are_copies() -> None:
    (first,) = cat.shipped_items(ids=["mola"])
    first.properties["title"] = "changed"
    (again,) = cat.shipped_items(ids=["mola"])
    assert again.properties.get("title") != "changed"


@pytest.mark.parametrize(
    ("filters", "words"),
    [
        ({"bbox": "1,2,3"}, "4 numbers"),
        ({"bbox": (10.0, 5.0, 20.0, -5.0)}, "out of range"),
        ({"datetime": "yesterday"}, "yesterday"),
        ({"datetime": "2020-01-02/2020-01-01"}, "swap"),
        ({"intersects": "[1, 2]"}, "GeoJSON geometry"),
        ({"intersects": {"type": "Point", "coordinates": [10.0, 95.0]}}, "out of range"),
        (
            {"bbox": (0, 0, 1, 1), "intersects": {"type": "Point", "coordinates": [0, 0]}},
            "not both",
        ),
    ],
)
def test_bad_filters_name_the_value_and_the_fix(filters: dict[str, object], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        cat.shipped_items(**filters)  # type: ignore[arg-type]
