"""Hazard rasters, their conversion to planner cost factors, and their effect on plans."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import xarray as xr

import marsgis
import marsgis.ml
import marsgis.terrain
from marsgis.crs import MARS_RADIUS_M
from marsgis.exceptions import PlanningError, ValidationError
from marsgis.io.raster import dem_from_array
from marsgis.planning import LandingEllipse, evaluate_ellipse, plan_traverse


def _route_cells(route, dem: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """Grid rows/columns of a planned route's cell-centre vertices (ends excluded)."""
    lon, lat = np.array(route.geometry.iloc[0].coords).T
    rows = np.abs(dem["y"].values[None, :] - lat[1:-1, None]).argmin(axis=1)
    cols = np.abs(dem["x"].values[None, :] - lon[1:-1, None]).argmin(axis=1)
    return rows, cols


@pytest.fixture(scope="module")
def gale() -> xr.DataArray:
    return marsgis.open_dem("gale-mola").isel(y=slice(300, 600), x=slice(300, 600)).compute()


def test_terrain_hazard_is_slope_over_the_limit(gale: xr.DataArray) -> None:
    slope = marsgis.terrain.slope(gale).values.astype(np.float64)
    h = marsgis.ml.terrain_hazard(gale, max_slope=20)
    np.testing.assert_allclose(h.values, np.clip(slope / 20, 0, 1), rtol=1e-6, equal_nan=True)
    assert h.rio.crs == gale.rio.crs and h.dims == gale.dims
    rough = marsgis.terrain.roughness(gale).values.astype(np.float64)
    hr = marsgis.ml.terrain_hazard(gale, max_slope=20, max_roughness_m=300)
    ref = np.maximum(np.clip(slope / 20, 0, 1), np.clip(rough / 300, 0, 1))
    np.testing.assert_allclose(hr.values, ref, rtol=1e-6, equal_nan=True)
    with pytest.raises(ValidationError, match="max_slope=95"):
        marsgis.ml.terrain_hazard(gale, max_slope=95)


def test_hazard_factor_formula() -> None:
    h = xr.DataArray(np.array([[0.0, 0.25, 0.5], [0.99, 1.0, np.nan]]), dims=("y", "x"))
    f = marsgis.ml.hazard_factor(h, weight=4)
    np.testing.assert_array_equal(f.values, [[1.0, 2.0, 3.0], [4.96, np.inf, 1.0]])
    f2 = marsgis.ml.hazard_factor(h, weight=2, impassable_at=0.5, fill=1.0)
    np.testing.assert_array_equal(f2.values, [[1.0, 1.5, np.inf], [np.inf, np.inf, np.inf]])
    with pytest.raises(ValidationError, match=r"outside \[0, 1\]; pass a 0–1 hazard"):
        marsgis.ml.hazard_factor(h * 5)
    with pytest.raises(ValidationError, match="weight=-1"):
        marsgis.ml.hazard_factor(h, weight=-1)


def test_class_hazard_uses_probabilities_or_classes() -> None:
    classes = list(marsgis.ml.CLASS_NAMES)
    cls = xr.DataArray(
        np.array([[0, 2], [7, -1]], dtype=np.int16), dims=("y", "x"), attrs={"classes": classes}
    )
    h = marsgis.ml.class_hazard(cls)
    table = marsgis.ml.DEFAULT_CLASS_HAZARD
    np.testing.assert_allclose(
        h.values, [[table["other"], table["dark dune"]], [table["spider"], np.nan]]
    )
    prob = np.zeros((8, 2, 2), dtype=np.float32)
    prob[0] = 0.5
    prob[2] = 0.5
    ds = xr.Dataset(
        {
            "class": cls,
            "probability": xr.DataArray(
                prob, dims=("class_name", "y", "x"), coords={"class_name": classes}
            ),
        }
    )
    expected = 0.5 * table["other"] + 0.5 * table["dark dune"]
    np.testing.assert_allclose(
        marsgis.ml.class_hazard(ds).values, [[expected, expected], [expected, np.nan]]
    )
    with pytest.raises(ValidationError, match=r"no hazard for classes \['spider'\]"):
        marsgis.ml.class_hazard(cls, {c: 0.5 for c in classes if c != "spider"})
    both = marsgis.ml.combine_hazards(h, h.fillna(0.0) * 0 + 0.3)
    np.testing.assert_allclose(both.values, [[0.3, table["dark dune"]], [table["spider"], 0.3]])


def test_hazard_layer_steers_a_route_off_steep_ground(gale: xr.DataArray) -> None:
    """End to end on Gale (MOLA 128 px/deg): hazard ≥ 0.4 impassable, the route detours."""
    start, goal = (-4.5895, 137.4417), (-5.2, 137.6)
    hazard = marsgis.ml.terrain_hazard(gale, max_slope=25)  # 0.4 ⇔ slope 10°
    base = plan_traverse(gale, start, goal)
    safe = plan_traverse(
        gale, start, goal, cost_factor=marsgis.ml.hazard_factor(hazard, weight=4, impassable_at=0.4)
    )
    hb = hazard.values[_route_cells(base, gale)]
    hs = hazard.values[_route_cells(safe, gale)]
    assert int((hb >= 0.4).sum()) >= 5  # the plain route crosses steep cells…
    assert int((hs >= 0.4).sum()) == 0  # …the hazard-aware one crosses none
    assert float(np.nanmean(hs)) < float(np.nanmean(hb))
    assert base.attrs["max_slope_deg"] > 10.0 > safe.attrs["max_slope_deg"]
    # the detour is real but modest: longer, by less than a fifth
    assert 1.0 < safe.attrs["length_m"] / base.attrs["length_m"] < 1.2


def test_class_hazard_patch_is_driven_around() -> None:
    """A 'dark dune' patch on flat ground between start and goal: the route goes around it."""
    n = 121
    lat = np.linspace(0.6, -0.6, n)
    lon = np.linspace(10.0, 11.2, n)
    dem = dem_from_array(np.zeros((n, n), dtype=np.float32), y=lat, x=lon)
    yy, xx = np.mgrid[0:n, 0:n]
    dune = (yy - 60) ** 2 + (xx - 60) ** 2 <= 20**2
    classes = list(marsgis.ml.CLASS_NAMES)
    cls = xr.DataArray(
        np.where(dune, 2, 0).astype(np.int16),
        dims=("y", "x"),
        coords={"y": lat, "x": lon},
        attrs={"classes": classes},
    )
    hazard = marsgis.ml.class_hazard(cls)  # dark dune 0.9, other 0.1
    start, goal = (0.0, 10.1), (0.0, 11.1)
    straight = plan_traverse(dem, start, goal)
    around = plan_traverse(
        dem, start, goal, cost_factor=marsgis.ml.hazard_factor(hazard, impassable_at=0.85)
    )
    r0, c0 = _route_cells(straight, dem)
    r1, c1 = _route_cells(around, dem)
    assert dune[r0, c0].sum() >= 35  # straight through the 41-cell-wide patch
    assert dune[r1, c1].sum() == 0
    # the shortest way round a disk of radius 20 cells between points 50 cells either side of
    # its centre: two tangents and an arc; 8-connected grid paths are up to 8 % longer
    cell = np.radians(0.01) * MARS_RADIUS_M
    assert straight.attrs["length_m"] == pytest.approx(100 * cell, rel=1e-6)
    detour = 2 * (np.sqrt(50**2 - 20**2) + 20 * np.arcsin(20 / 50)) * cell
    assert detour < around.attrs["length_m"] < 1.1 * detour
    # a hazard raster that blocks the goal says so
    with pytest.raises(PlanningError, match="impassable in the cost_factor raster"):
        plan_traverse(
            dem, (0.0, 10.6), goal, cost_factor=marsgis.ml.hazard_factor(hazard, impassable_at=0.85)
        )


def test_ellipse_evaluation_counts_hazardous_area(gale: xr.DataArray) -> None:
    e = LandingEllipse(-5.4, 137.7, 12.0, 8.0, 90.0)
    lon = gale["x"].values[None, :] * np.ones(gale.shape)
    hazard = xr.DataArray(np.where(lon > 137.7, 1.0, 0.0), dims=gale.dims, coords=gale.coords)
    ev = evaluate_ellipse(e, gale, "msl", hazard=hazard, hazard_threshold=0.5)
    # independent reference: cells whose centres lie in the ellipse, weighted by cos(lat)
    lat2 = gale["y"].values[:, None] * np.ones(gale.shape)
    inside = np.asarray(e.contains(lat2, lon))
    w = np.cos(np.radians(lat2))[inside]
    east = (lon > 137.7)[inside]
    assert ev.fail_fraction["hazard"] == pytest.approx(float(w[east].sum() / w.sum()), abs=1e-6)
    assert ev.fail_fraction["hazard"] == pytest.approx(0.5, abs=0.03)
    assert ev.stats["hazard_mean"] == pytest.approx(ev.fail_fraction["hazard"], abs=1e-9)
    assert ev.stats["hazard_max"] == 1.0
    assert ev.fail_any >= ev.fail_fraction["hazard"]
    plain = evaluate_ellipse(e, gale, "msl")
    assert "hazard" not in plain.fail_fraction
    with pytest.raises(ValidationError, match="hazard raster has shape"):
        evaluate_ellipse(e, gale, "msl", hazard=hazard.isel(y=slice(0, 10)))


def test_route_avoids_landmarks_found_by_the_calibrated_classifier(shipped: Any) -> None:
    """Real crops → calibrated class probabilities → expected hazard → a route around it.

    A 7×9 mosaic of 227-px HiRISE crops: plain terrain, and a wall of landmark crops across
    the middle column that leaves a gap at the bottom. The hazard is the expected class
    hazard Σ p_k h_k of the classifier's *calibrated* probabilities (prior-corrected to the
    natural class mix), one value per tile.
    """
    from marsgis.ml.datasets import HIRISE_LANDMARKS_DIR, HiRISELandmarks, read_image, read_labels

    records = read_labels()
    idx = [i for i, r in enumerate(records) if r.augmentation is None]
    probs = shipped.probabilities(HiRISELandmarks(size=64, indices=idx, cache=False).load_all())
    h = np.array([marsgis.ml.DEFAULT_CLASS_HAZARD[c] for c in shipped.classes])
    expected = probs.numpy().astype(np.float64) @ h
    order = np.argsort(expected)
    benign = [records[idx[i]] for i in order[:58]]
    risky = [records[idx[i]] for i in order[::-1][:5]]
    assert all(r.label != 0 for r in risky)  # the most hazardous crops are true landmarks
    rows, cols, wall = 7, 9, 4
    tiles, k = [], 0
    for i in range(rows):
        for j in range(cols):
            if j == wall and i < 5:
                rec = risky[i]
            else:
                rec, k = benign[k], k + 1
            tiles.append(read_image(HIRISE_LANDMARKS_DIR / "images" / rec.filename))
    image = np.block([[tiles[i * cols + j] for j in range(cols)] for i in range(rows)])
    lat = np.linspace(0.6, -0.6, rows * 227)
    lon = np.linspace(10.0, 11.6, cols * 227)
    da = xr.DataArray(image, dims=("y", "x"), coords={"y": lat, "x": lon})
    out = marsgis.ml.classify_raster(da, shipped, tile=227, stride=227, probabilities=True)
    hazard = marsgis.ml.class_hazard(out).coarsen(y=227, x=227).mean()  # one value a tile
    per_tile = hazard.values
    # the classifier's calibrated probabilities, tile by tile, give the hazard
    np.testing.assert_allclose(per_tile[:5, wall], np.sort(expected)[::-1][:5], atol=1e-5)
    assert per_tile[:5, wall].min() >= 0.6
    others = np.delete(per_tile, wall, axis=1)
    assert others.max() <= 0.2 and per_tile[5:, wall].max() <= 0.2
    # the planner's grid: 4×4 cells a tile (start and goal must lie inside the DEM's edge)
    f = 4
    cells = np.kron(per_tile, np.ones((f, f)))
    y, x = np.linspace(0.6, -0.6, rows * f), np.linspace(10.0, 11.6, cols * f)
    dem = dem_from_array(np.zeros(cells.shape, dtype=np.float32), y=y, x=x)
    grid_hazard = xr.DataArray(cells, dims=("y", "x"), coords={"y": y, "x": x})
    start = (float(y[3 * f + 1]), float(x[1]))
    goal = (float(y[3 * f + 1]), float(x[cols * f - 2]))
    straight = plan_traverse(dem, start, goal)
    around = plan_traverse(
        dem, start, goal, cost_factor=marsgis.ml.hazard_factor(grid_hazard, impassable_at=0.6)
    )
    r0, c0 = _route_cells(straight, dem)
    r1, c1 = _route_cells(around, dem)
    assert (cells[r0, c0] >= 0.6).any()  # straight through the wall
    assert (cells[r1, c1] < 0.2).all()  # around it, through the gap at the bottom
    assert (r1[c1 // f == wall] >= 5 * f).all()
