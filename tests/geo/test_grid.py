"""Grid locator, cell sizes and longitude wrapping against independent references."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from pyproj import CRS, Transformer

import marsgis
from marsgis import geo
from marsgis.crs import MARS_GEOGRAPHIC, MARS_RADIUS_M
from marsgis.exceptions import CoordinateError, ValidationError

RNG = np.random.default_rng(7)


def _affine_index(dem: xr.DataArray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre (row, col) from the inverse of the file's affine transform (rasterio)."""
    col, row = ~dem.rio.transform() * (x, y)
    return np.asarray(row) - 0.5, np.asarray(col) - 0.5


def test_locate_on_a_global_0_360_grid_in_both_conventions() -> None:
    mola = marsgis.open_dem("mola")
    lat = RNG.uniform(-89.0, 89.0, 200)
    lon360 = RNG.uniform(0.0, 360.0, 200)
    ref_r, ref_c = _affine_index(mola, lon360, lat)
    grid = geo.Grid.of(mola)
    assert grid.is_global and grid.geographic
    for lon in (lon360, np.where(lon360 >= 180.0, lon360 - 360.0, lon360)):
        r, c = grid.locate(lat, lon)
        np.testing.assert_allclose(r, ref_r, atol=1e-9)
        np.testing.assert_allclose(c, ref_c, atol=1e-9)


def test_locate_on_a_minus180_grid() -> None:
    mola = marsgis.open_dem("mola")
    x = mola["x"].values
    shifted = mola.roll(x=720, roll_coords=True).assign_coords(
        x=np.where(x >= 180, x - 360, x)[np.r_[720:1440, 0:720]]
    )
    shifted = shifted.rio.write_crs(mola.rio.crs)
    lat = RNG.uniform(-89.0, 89.0, 100)
    lon = RNG.uniform(0.0, 360.0, 100)
    r, c = geo.lonlat_to_grid(shifted, lat, lon)
    ref_c = (np.where(lon >= 180.0, lon - 360.0, lon) - float(shifted["x"][0])) / 0.25
    np.testing.assert_allclose(c, ref_c, atol=1e-9)
    np.testing.assert_allclose(r, (float(shifted["y"][0]) - lat) / 0.25, atol=1e-9)


def test_locate_on_a_projected_grid_equals_pyproj_and_affine() -> None:
    dem = marsgis.open_dem("gale-1m")
    lat = RNG.uniform(-4.7, -4.6, 50)
    lon = RNG.uniform(137.35, 137.45, 50)
    tr = Transformer.from_crs(CRS.from_user_input(MARS_GEOGRAPHIC), dem.rio.crs, always_xy=True)
    x, y = tr.transform(lon, lat)
    ref_r, ref_c = _affine_index(dem, np.asarray(x), np.asarray(y))
    r, c = geo.lonlat_to_grid(dem, lat, lon)
    np.testing.assert_allclose(r, ref_r, atol=1e-6)
    np.testing.assert_allclose(c, ref_c, atol=1e-6)
    r2, c2 = geo.Grid.of(dem).locate(lat, lon - 360.0)  # −222.6 °E is 137.4 °E
    np.testing.assert_allclose(r2, ref_r, atol=1e-6)
    np.testing.assert_allclose(c2, ref_c, atol=1e-6)


def test_lonlat_to_grid_refuses_bad_points() -> None:
    mola = marsgis.open_dem("mola")
    with pytest.raises(CoordinateError, match="swap"):
        geo.lonlat_to_grid(mola, 137.0, -4.6)
    with pytest.raises(ValidationError, match="dims"):
        geo.Grid.of(mola.rename({"x": "lon"}))


def test_cell_size_is_r_cos_phi_dlambda() -> None:
    mola = marsgis.open_dem("mola")
    dx_m, dy_m = geo.Grid.of(mola).cell_size_m()
    phi = np.radians(mola["y"].values)
    np.testing.assert_allclose(dx_m, MARS_RADIUS_M * np.cos(phi) * np.radians(0.25), rtol=1e-12)
    np.testing.assert_allclose(dy_m, -MARS_RADIUS_M * np.radians(0.25), rtol=1e-12)


def test_lonlat_of_projected_grid_is_minus180_to_180() -> None:
    dem = marsgis.open_dem("gale-1m").isel(y=slice(0, 3), x=slice(0, 3))
    lat, lon = geo.lonlat_of_grid(dem)
    tr = Transformer.from_crs(dem.rio.crs, CRS.from_user_input(MARS_GEOGRAPHIC), always_xy=True)
    mx, my = np.meshgrid(dem["x"].values, dem["y"].values)
    ref_lon, ref_lat = tr.transform(mx, my)
    np.testing.assert_allclose(lat, ref_lat, atol=1e-12)
    np.testing.assert_allclose(lon, ref_lon, atol=1e-12)


def test_normalize_lon_is_exact_in_range_and_wraps_by_whole_turns() -> None:
    inside = RNG.uniform(-180.0, 180.0, 1000)
    assert np.array_equal(geo.normalize_lon(inside, center=0.0), inside)  # bit for bit
    assert np.array_equal(geo.normalize_lon(inside + 180.0), inside + 180.0)
    wild = RNG.uniform(-2000.0, 2000.0, 1000)
    out = geo.normalize_lon(wild, center=0.0)
    assert ((out >= -180.0) & (out < 180.0)).all()
    turns = (wild - out) / 360.0
    np.testing.assert_allclose(turns, np.round(turns), atol=1e-12)
    # a hair below the range's start would round up to its end: it wraps to the start instead
    assert geo.normalize_lon(-1e-300) == 0.0
    assert geo.normalize_lon(np.nextafter(-180.0, -200.0), center=0.0) < 180.0


def test_geo_imports_only_its_foundations() -> None:
    """marsgis.geo depends on crs/exceptions/numpy/pyproj/shapely/xarray, never on the layers above."""
    allowed = {"marsgis.crs", "marsgis.exceptions", "numpy", "pyproj", "shapely", "xarray"}
    root = Path(geo.__file__).parent
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names:  # the standard library is always there
                    continue
                ok = name.startswith("marsgis.geo") or any(
                    name == a or name.startswith(a + ".") for a in allowed
                )
                assert ok, f"{path.name} imports {name}"
