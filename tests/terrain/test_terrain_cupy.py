"""The CuPy backend of the terrain dispatcher.

CI has no GPU: the array-expression kernels are checked on the CPU (``xp=numpy``) against the
numba kernels; the ``gpu``-marked tests run them on CuPy-backed DataArrays (``make test-gpu``).
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import marsgis
from marsgis.exceptions import DependencyNotFoundError
from marsgis.terrain import _kernels
from marsgis.terrain._cupy import cupy_module, is_cupy, run_array
from marsgis.terrain._dispatch import _run_numpy, kernel_coefficients, kernel_grid

KERNELS = {
    "slope": (_kernels.slope_kernel, ()),
    "aspect": (_kernels.aspect_kernel, ()),
    "roughness": (_kernels.roughness_kernel, ()),
    "hillshade": (_kernels.hillshade_kernel, (0.7071, -0.5, 0.5)),
}


@pytest.mark.parametrize("name", sorted(KERNELS))
@pytest.mark.parametrize("dem_name", ["gale-mola", "mola"])
def test_array_kernels_equal_the_numba_kernels(name: str, dem_name: str) -> None:
    dem = marsgis.open_dem(dem_name)
    if dem_name == "gale-mola":
        dem = dem.isel(y=slice(0, 200), x=slice(0, 240))
    grid = kernel_grid(dem)
    kx, ky = kernel_coefficients(grid)
    kernel, params = KERNELS[name]
    p = np.asarray(params or (0.0,), dtype=np.float64)
    z = np.asarray(dem.values, dtype=np.float32)
    z[5, 7] = np.nan  # nodata propagates the same way
    ref = _run_numpy(z, kernel=kernel, kx=kx, ky=ky, params=p, wrap=grid.is_global)
    got = run_array(np, z, kernel=kernel, kx=kx, ky=ky, params=p, wrap=grid.is_global)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_allclose(got, ref, rtol=2e-6, atol=2e-4 if name == "aspect" else 1e-5)
    assert not is_cupy(got)


def test_missing_cupy_is_a_clear_error() -> None:
    if importlib.util.find_spec("cupy") is not None:  # a GPU image: the module is returned
        assert cupy_module().__name__ == "cupy"
        return
    with pytest.raises(DependencyNotFoundError, match="pip install cupy-cuda12x"):
        cupy_module()


@pytest.mark.gpu
@pytest.mark.parametrize("chunked", [False, True])
@pytest.mark.parametrize("name", sorted(KERNELS))
def test_cupy_dems_equal_the_cpu_within_float32(name: str, chunked: bool) -> None:
    # a GPU run without CuPy must fail, not skip (the gpu marker is deselected by default)
    import cupy as cp

    dem = marsgis.open_dem("gale-mola").astype(np.float32)
    fn = {
        "slope": marsgis.terrain.slope,
        "aspect": marsgis.terrain.aspect,
        "roughness": marsgis.terrain.roughness,
        "hillshade": marsgis.terrain.hillshade,
    }[name]
    ref = fn(dem).values
    gpu_dem = dem.copy(data=cp.asarray(dem.values))
    if chunked:
        gpu_dem = gpu_dem.chunk({"y": 128, "x": 128})
    out = fn(gpu_dem)
    data = out.data.compute() if chunked else out.data
    assert is_cupy(data)
    got = cp.asnumpy(data)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_allclose(got, ref, rtol=2e-6, atol=2e-4 if name == "aspect" else 1e-5)
