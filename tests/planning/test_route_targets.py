"""Which missions can take a planned route (#15: the planner offers only those)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from shapely.geometry import Point, box

import marsgis
from marsgis.planning import route_target_problem


def mission(**kw: object) -> SimpleNamespace:
    base = {"name": "Gale", "status": "planned", "mission_type": "landing"}
    return SimpleNamespace(**{**base, **kw})


def test_the_shipped_gale_dem_takes_bradbury_not_jezero() -> None:
    bounds = marsgis.open_dem("gale-mola").rio.bounds()  # 0–360 °E, as the DEM is stored
    assert route_target_problem(mission(lat=-4.5895, lon=137.4417), bounds) is None
    jezero = route_target_problem(mission(name="Jezero", lat=18.4447, lon=77.4508), bounds)
    assert jezero is not None and "'Jezero' targets 18.4447°, 77.4508°E, outside" in jezero


@pytest.mark.parametrize("status", ["completed", "aborted"])
def test_final_missions_take_nothing(status: str) -> None:
    got = route_target_problem(mission(status=status, lat=0.0, lon=0.0), (-1, -1, 1, 1))
    assert got == (
        f"'Gale' is {status}: a route can only be added to a planned or active mission; "
        "choose another or save as a new mission"
    )


def test_orbital_missions_take_no_rover_route() -> None:
    got = route_target_problem(mission(mission_type="orbital", lat=0.0, lon=0.0), (-1, -1, 1, 1))
    assert got == "'Gale' is an orbital mission: a rover route belongs to a ground mission"


@pytest.mark.parametrize(
    "bounds", [(137.0, -6.0, 138.5, -3.0), (170.0, -10.0, -170.0, 10.0), (350.0, -5.0, 360.0, 5.0)]
)
def test_inside_matches_shapely(bounds: tuple[float, float, float, float]) -> None:
    """Against shapely's containment of the box (split at 180° where it crosses it)."""
    west, south, east, north = bounds
    w, e = (((v + 180.0) % 360.0) - 180.0 for v in (west, east))
    if w <= e:
        boxes = [box(w, south, e, north)]
    else:
        boxes = [box(w, south, 180, north), box(-180, south, e, north)]
    rng = np.random.default_rng(7)
    for lat, raw in zip(rng.uniform(-15, 15, 400), rng.uniform(-180, 180, 400), strict=True):
        lon = float(raw) if rng.random() < 0.5 else float(raw) % 360.0  # either convention
        inside = any(b.covers(Point(float(raw), lat)) for b in boxes)
        got = route_target_problem(mission(lat=float(lat), lon=lon), bounds)
        assert (got is None) == inside, (lat, lon, got)
