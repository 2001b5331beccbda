"""The one numpy/dask dispatcher of :mod:`marsgis.terrain` and the grid checks it needs.

A 3×3 kernel from :mod:`marsgis.terrain._kernels` runs on the whole array when the data is in
memory, and through :meth:`dask.array.Array.map_overlap` (depth 1) when it is dask-backed.
Both paths call the same compiled kernel on the same float32 values with the same per-row
cell sizes, so their results are bit-identical: on a dask block the kernel sees a 1-cell halo
(the neighbouring blocks, NaN beyond the grid edge, or the opposite longitude edge on global
grids) and the block's own rows of the per-row coefficients, picked with ``block_id``.

CuPy-backed DEMs (in memory, or as the blocks of a dask array) run the CuPy counterpart of
the kernel (:mod:`marsgis.terrain._cupy`) on the GPU and stay on it; equal to the CPU result
within float32 rounding. Without CuPy installed they raise DependencyNotFoundError.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numba
import numpy as np
import numpy.typing as npt
import xarray as xr

from marsgis.exceptions import ValidationError
from marsgis.geo import Grid
from marsgis.terrain._cupy import cupy_module, is_cupy, run_array

__all__ = ["kernel_coefficients", "kernel_grid", "run_kernel"]

Kernel = Callable[..., None]
FloatArray = npt.NDArray[np.float64]

#: attrs of the source that describe its encoding, not the derived product
_DROP_ATTRS = ("scale_factor", "add_offset", "_FillValue", "missing_value")


def kernel_grid(dem: xr.DataArray) -> Grid:
    """Check that ``dem`` is a regular ``("y", "x")`` Mars grid of at least 3×3 cells.

    Raises
    ------
    ValidationError
        Wrong dims, fewer than 3×3 cells, uneven spacing, or latitudes beyond ±90°.
    MissingCRSError, BodyMismatchError
        No CRS, or not a Mars CRS.
    """
    if not isinstance(dem, xr.DataArray):
        raise ValidationError(
            f"expected an xarray.DataArray DEM, got {type(dem).__name__!r}; "
            "open one with marsgis.open_dem"
        )
    if dem.dims != ("y", "x"):
        raise ValidationError(
            f"expected a DEM with dims ('y', 'x'), got {dem.dims!r}; open it with "
            "marsgis.open_dem or rename the dims, e.g. dem.rename({'lat': 'y', 'lon': 'x'})"
        )
    ny, nx = dem.shape
    if ny < 3 or nx < 3:
        raise ValidationError(f"DEM {dem.name!r} has {ny}×{nx} cells; 3×3 kernels need >= 3×3")
    grid = Grid.of(dem)  # checks the CRS (parsing it costs ~1.5 ms: once, here)
    grid.require_regular()
    if grid.geographic and np.max(np.abs(grid.y)) > 90.0 + 1e-9:
        raise ValidationError(
            f"DEM {dem.name!r} has latitudes beyond ±90° (y from {grid.y[0]!r} to "
            f"{grid.y[-1]!r}); a geographic grid needs y = planetocentric latitude"
        )
    return grid


def kernel_coefficients(grid: Grid) -> tuple[FloatArray, FloatArray]:
    """``1 / (8 dx)`` and ``1 / (8 dy)`` per row (metres); NaN on rows without east–west extent."""
    dx_m, dy_m = grid.cell_size_m()
    with np.errstate(divide="ignore"):
        kx = np.where(dx_m != 0.0, 1.0 / (8.0 * dx_m), np.nan)
    return kx, 1.0 / (8.0 * dy_m)


#: rows handed to a numba thread at a time: dynamic scheduling keeps both cores busy when
#: one of them is shared (static halves leave one thread waiting for the other)
_ROWS_PER_TASK = 64


@contextmanager
def _numba_parallel(threads: int | None = None) -> Iterator[None]:
    """Run this thread's numba kernels on at most ``threads`` threads, rows dealt out.

    Rows go to the threads ``_ROWS_PER_TASK`` at a time; both settings are numba's
    thread-local state and are restored afterwards.
    """
    previous_threads = numba.get_num_threads()
    if threads is not None and threads < previous_threads:
        numba.set_num_threads(threads)
    previous_chunk = numba.set_parallel_chunksize(_ROWS_PER_TASK)
    try:
        yield
    finally:
        numba.set_parallel_chunksize(previous_chunk)
        numba.set_num_threads(previous_threads)


def _as_float32(values: Any) -> np.ndarray[Any, np.dtype[np.float32]]:
    return np.ascontiguousarray(values, dtype=np.float32)


def _run_numpy(
    values: Any,
    *,
    kernel: Kernel,
    kx: FloatArray,
    ky: FloatArray,
    params: FloatArray,
    wrap: bool,
    threads: int | None = None,
) -> np.ndarray[Any, np.dtype[np.float32]]:
    z = _as_float32(values)
    out = np.empty(z.shape, dtype=np.float32)
    with _numba_parallel(threads):
        kernel(z, kx, ky, params, wrap, out)
    return out


def _run_dask(
    data: Any, *, kernel: Kernel, kx: FloatArray, ky: FloatArray, params: FloatArray, wrap: bool
) -> Any:
    # per-row coefficients of the padded blocks: index m of *_ext is row m - 1 of the grid
    kx_ext = np.concatenate(([np.nan], kx, [np.nan]))
    ky_ext = np.concatenate(([np.nan], ky, [np.nan]))
    row_starts = np.concatenate(([0], np.cumsum(data.chunks[0]))).astype(np.int64)

    def block(
        x: np.ndarray[Any, Any], block_id: tuple[int, ...] | None = None
    ) -> np.ndarray[Any, np.dtype[np.float32]]:
        if block_id is None:  # dask's meta probe
            return np.empty(x.shape, dtype=np.float32)
        r0 = int(row_starts[block_id[0]])
        n = x.shape[0]
        # dask runs blocks on its own threads: one numba thread per block
        return _run_numpy(
            x,
            kernel=kernel,
            kx=kx_ext[r0 : r0 + n],
            ky=ky_ext[r0 : r0 + n],
            params=params,
            wrap=False,
            threads=1,
        )

    if data.dtype != np.float32:
        data = data.astype(np.float32)
    return data.map_overlap(
        block,
        depth={0: 1, 1: 1},
        boundary={0: np.nan, 1: "periodic" if wrap else np.nan},
        trim=True,
        dtype=np.float32,
        meta=np.array((), dtype=np.float32),
    )


def _run_cupy(
    data: Any, *, kernel: Kernel, kx: FloatArray, ky: FloatArray, params: FloatArray, wrap: bool
) -> Any:
    cp = cupy_module()
    if not (hasattr(data, "map_overlap") and hasattr(data, "chunks")):
        return run_array(cp, data, kernel=kernel, kx=kx, ky=ky, params=params, wrap=wrap)
    kx_ext = np.concatenate(([np.nan], kx, [np.nan]))
    ky_ext = np.concatenate(([np.nan], ky, [np.nan]))
    row_starts = np.concatenate(([0], np.cumsum(data.chunks[0]))).astype(np.int64)

    def block(x: Any, block_id: tuple[int, ...] | None = None) -> Any:
        if block_id is None:
            return cp.empty(x.shape, dtype=cp.float32)
        r0 = int(row_starts[block_id[0]])
        n = x.shape[0]
        return run_array(
            cp, x, kernel=kernel, kx=kx_ext[r0 : r0 + n], ky=ky_ext[r0 : r0 + n],
            params=params, wrap=False,
        )  # fmt: skip

    return data.astype(np.float32).map_overlap(
        block,
        depth={0: 1, 1: 1},
        boundary={0: np.nan, 1: "periodic" if wrap else np.nan},
        trim=True,
        dtype=np.float32,
        meta=cp.empty((0, 0), dtype=cp.float32),
    )


def run_kernel(
    dem: xr.DataArray,
    kernel: Kernel,
    *,
    name: str | None,
    units: str,
    long_name: str,
    params: tuple[float, ...] = (),
    gradient_scale: float = 1.0,
    extra_attrs: dict[str, Any] | None = None,
) -> xr.DataArray:
    """Apply ``kernel`` to ``dem`` (numpy or dask) and wrap the result as a new DataArray.

    The result has ``dem``'s dims, coords (CRS included) and attrs, with ``units`` and
    ``long_name`` replaced and the source's encoding attrs (``scale_factor``, ``add_offset``,
    ``_FillValue``) dropped. ``dem`` itself is never modified. ``gradient_scale`` multiplies
    the gradient (hillshade's z-factor).
    """
    grid = kernel_grid(dem)
    kx, ky = kernel_coefficients(grid)
    if gradient_scale != 1.0:
        kx, ky = kx * gradient_scale, ky * gradient_scale
    p = np.asarray(params, dtype=np.float64) if params else np.zeros(1, dtype=np.float64)
    data = dem.data
    if is_cupy(data) or is_cupy(getattr(data, "_meta", None)):
        out = _run_cupy(data, kernel=kernel, kx=kx, ky=ky, params=p, wrap=grid.is_global)
    elif hasattr(data, "map_overlap") and hasattr(data, "chunks"):
        out = _run_dask(data, kernel=kernel, kx=kx, ky=ky, params=p, wrap=grid.is_global)
    else:
        out = _run_numpy(
            np.asarray(data), kernel=kernel, kx=kx, ky=ky, params=p, wrap=grid.is_global
        )
    attrs = {k: v for k, v in dem.attrs.items() if k not in _DROP_ATTRS}
    attrs.update(units=units, long_name=long_name, **(extra_attrs or {}))
    return xr.DataArray(out, dims=dem.dims, coords=dem.coords, attrs=attrs, name=name)
