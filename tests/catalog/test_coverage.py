"""``marsgis.catalog.finest_dem``: which shipped DEM covers a box, against the DEMs' real bounds."""

from __future__ import annotations

import math

import numpy as np
import pytest

import marsgis
from marsgis.catalog import DemFootprint, dem_footprints, finest_dem
from marsgis.crs import MARS_GEOGRAPHIC
from marsgis.exceptions import CoordinateError


def _real_bounds(name: str) -> tuple[float, float, float, float]:
    dem = marsgis.open_dem(name)
    if dem.rio.crs.is_geographic:
        west, south, east, north = dem.rio.bounds()
    else:
        west, south, east, north = dem.rio.transform_bounds(MARS_GEOGRAPHIC, densify_pts=21)
    return float(west), float(south), float(east), float(north)


def test_footprints_are_the_dems_own_bounds_finest_first() -> None:
    prints = {f.name: f for f in dem_footprints()}
    assert [f.name for f in dem_footprints()] == ["gale-1m", "gale-mola", "mola"]
    for name in ("mola", "gale-mola"):
        assert prints[name].bounds == _real_bounds(name)
        assert prints[name].geographic
    np.testing.assert_allclose(prints["gale-1m"].bounds, _real_bounds("gale-1m"), atol=1e-9)
    assert not prints["gale-1m"].geographic
    # 1/128° and 1/4° on the 3 396 190 m sphere; 1 m cells
    assert prints["gale-mola"].resolution_m == pytest.approx(3_396_190 * math.pi / 180 / 128)
    assert prints["mola"].resolution_m == pytest.approx(3_396_190 * math.pi / 180 / 4)
    assert prints["gale-1m"].resolution_m == 1.0


@pytest.mark.parametrize("side", range(4))
def test_gale_window_edges_from_its_real_bounds(side: int) -> None:
    west, south, east, north = _real_bounds("gale-mola")
    cell = 1 / 128
    inside = [west + cell / 2, south + cell / 2, east - cell / 2, north - cell / 2]
    assert finest_dem(tuple(inside)) == "gale-mola"  # type: ignore[arg-type]
    beyond = list(inside)
    beyond[side] += cell if side >= 2 else -cell  # one edge a cell past the window
    assert finest_dem(tuple(beyond)) == "mola"  # type: ignore[arg-type]


def test_points_and_the_projected_1m_dem() -> None:
    west, south, east, north = _real_bounds("gale-1m")
    lon, lat = (west + east) / 2, (south + north) / 2
    assert finest_dem((lon, lat, lon, lat)) == "gale-mola"
    assert finest_dem((lon, lat, lon, lat), projected=True) == "gale-1m"
    assert finest_dem((west - 0.01, lat, lon, lat), projected=True) == "gale-mola"
    assert finest_dem((0.0, -90.0, 360.0, 90.0)) == "mola"


def test_longitude_conventions_and_the_antimeridian() -> None:
    fp = DemFootprint("x", (170.0, -10.0, 190.0, 10.0), 100.0, geographic=True)
    assert fp.covers((175.0, -1.0, 185.0, 1.0))
    assert fp.covers((-175.0, -1.0, -172.0, 1.0))  # 185–188 °E in −180–180
    assert fp.covers((175.0, -1.0, -175.0, 1.0))  # crosses 180°: east < west
    assert not fp.covers((165.0, -1.0, 175.0, 1.0))
    assert not fp.covers((175.0, -1.0, -165.0, 1.0))  # 175–195 °E
    assert not fp.covers((175.0, -11.0, 185.0, 1.0))
    # the global grid holds a box across its 0/360 seam
    assert finest_dem((-10.0, 0.0, 10.0, 5.0)) == "mola"
    west, south, east, north = _real_bounds("gale-mola")
    assert finest_dem((west + 0.5 - 360.0, south + 0.5, east - 0.5 - 360.0, north - 0.5)) == (
        "gale-mola"
    )


@pytest.mark.parametrize(
    "bounds",
    [(137.0, -4.0, 137.5, -5.0), (137.0, -95.0, 137.5, -4.0), (137.0, float("nan"), 138.0, -4.0)],
)
def test_bad_boxes_name_the_value(bounds: tuple[float, float, float, float]) -> None:
    with pytest.raises(CoordinateError, match="bounds"):
        finest_dem(bounds)
