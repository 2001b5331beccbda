"""``marsgis.terrain._numpy_kernels``: the numpy twins of the numba kernels, bit for bit.

The streaming file path (``marsgis terrain``) runs them on DEMs up to
``stream._NUMPY_MAX_CELLS`` cells so that a small file never imports numba; every value must be
the numba kernel's (same float32 bits, NaN where NaN), and so gdaldem's within the tolerances of
``test_terrain_gdaldem.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import rasterio

import marsgis
from marsgis.terrain import _kernels, _numpy_kernels
from marsgis.terrain._dispatch import kernel_coefficients, kernel_grid
from marsgis.terrain.stream import _NUMPY_MAX_CELLS, stream_to_file

PARAMS = {
    "slope": (0.0,),
    "aspect": (0.0,),
    "roughness": (0.0,),
    # sin 45°, cos 45° cos 315°, cos 45° sin 315°
    "hillshade": (0.7071067811865476, 0.5, -0.5),
}
INNER = (slice(1, -1), slice(1, -1))


def _both(
    name: str, z: np.ndarray, kx: np.ndarray, ky: np.ndarray, wrap: bool
) -> tuple[np.ndarray, np.ndarray]:
    params = np.asarray(PARAMS[name], dtype=np.float64)
    ref = np.full(z.shape, 7.0, dtype=np.float32)  # every cell must be written
    got = np.full(z.shape, 7.0, dtype=np.float32)
    getattr(_kernels, f"{name}_kernel")(z, kx, ky, params, wrap, ref)
    getattr(_numpy_kernels, f"{name}_kernel")(z, kx, ky, params, wrap, got)
    return ref, got


def _assert_same_bits(got: np.ndarray, ref: np.ndarray) -> None:
    assert got.dtype == ref.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    finite = ~np.isnan(ref)
    # bit patterns, so that -0.0 != 0.0 and one ulp counts
    np.testing.assert_array_equal(got[finite].view(np.uint32), ref[finite].view(np.uint32))


@pytest.mark.parametrize("name", sorted(PARAMS))
@pytest.mark.parametrize("dem_name", ["gale-mola", "gale-1m", "mola"])
def test_numpy_kernels_equal_numba_on_real_dems(name: str, dem_name: str) -> None:
    dem = marsgis.open_dem(dem_name).compute()
    grid = kernel_grid(dem)
    kx, ky = kernel_coefficients(grid)
    z = np.ascontiguousarray(dem.values, dtype=np.float32)
    z[np.random.default_rng(17).random(z.shape) < 0.005] = np.nan  # scattered nodata
    z[40:60, 50:70] = np.nan  # and a hole
    for wrap in sorted({False, grid.is_global}):  # mola: global, its seam columns wrap
        ref, got = _both(name, z, kx, ky, wrap)
        _assert_same_bits(got, ref)
        assert np.isfinite(ref[INNER]).mean() > 0.5  # values, not only NaN, were compared


@pytest.mark.parametrize("name", sorted(PARAMS))
@pytest.mark.parametrize("wrap", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_numpy_kernels_equal_numba_on_random_windows(name: str, wrap: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    ny, nx = 61, 47
    # rough ground at Mars elevations, flat patches (aspect NaN, roughness 0), steep cliffs
    z = (-4500.0 + rng.normal(0.0, 30.0, (ny, nx))).astype(np.float32)
    z[10:20, 10:20] = np.float32(-4321.0)
    z[30:33, :] += np.float32(5000.0)
    z[rng.random((ny, nx)) < 0.05] = np.nan
    z[0, 5] = np.float32(-0.0)
    z[1, 5] = np.float32(0.0)
    kx = 1.0 / (8.0 * rng.uniform(0.5, 500.0, ny))
    ky = -1.0 / (8.0 * rng.uniform(0.5, 500.0, ny))
    kx[3] = np.nan  # a row centred on a pole has no east-west extent
    ref, got = _both(name, z, kx, ky, wrap)
    _assert_same_bits(got, ref)
    assert np.isfinite(ref).sum() > ny * nx // 2


@pytest.mark.parametrize("nan_share", [0.0, 0.3, 1.0])
def test_nan_stats_of_both_modules_equal_numpy(nan_share: float) -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(-3000.0, 900.0, (130, 257)).astype(np.float32)
    x[rng.random(x.shape) < nan_share] = np.nan
    valid = x[~np.isnan(x)].astype(np.float64)
    for module in (_kernels, _numpy_kernels):
        lo, hi, total, count = module.nan_stats(x)
        assert count == valid.size
        if valid.size:
            assert (lo, hi) == (valid.min(), valid.max())
            assert total == pytest.approx(valid.sum(), rel=1e-12)
        else:
            assert (lo, hi, total) == (np.inf, -np.inf, 0.0)


def test_numpy_slope_file_matches_gdaldem(
    tmp_path: Path, gale_1m_tif: Path, gdaldem: Callable[..., np.ndarray]
) -> None:
    # the shipped 1 m Gale GeoTIFF (337 × 348, nodata -32767) streams through the numpy kernel
    with rasterio.open(gale_1m_tif) as ds:
        assert ds.height * ds.width <= _NUMPY_MAX_CELLS
    stream_to_file("slope", gale_1m_tif, tmp_path / "slope.tif", compress=None)
    with rasterio.open(tmp_path / "slope.tif") as ds:
        ours = ds.read(1)
    gdal = gdaldem("slope", gale_1m_tif)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(gdal))
    diff = np.abs(ours[INNER] - gdal[INNER])
    assert np.median(diff) < 0.05
    assert diff.max() < 0.1
