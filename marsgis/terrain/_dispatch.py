"""The one numpy/dask dispatcher of :mod:`marsgis.terrain` and the grid geometry it needs.

A 3×3 kernel from :mod:`marsgis.terrain._kernels` runs on the whole array when the data is in
memory, and through :meth:`dask.array.Array.map_overlap` (depth 1) when it is dask-backed.
Both paths call the same compiled kernel on the same float32 values with the same per-row
cell sizes, so their results are bit-identical: on a dask block the kernel sees a 1-cell halo
(the neighbouring blocks, NaN beyond the grid edge, or the opposite longitude edge on global
grids) and the block's own rows of the per-row coefficients, picked with ``block_id``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import numpy.typing as npt
import xarray as xr
from pyproj import CRS

from marsgis.crs import MARS_RADIUS_M, require_mars_crs
from marsgis.exceptions import ValidationError
from marsgis.sampling import grid_geometry

__all__ = ["GridGeometry", "geometry", "run_kernel"]

Kernel = Callable[..., None]
FloatArray = npt.NDArray[np.float64]

#: attrs of the source that describe its encoding, not the derived product
_DROP_ATTRS = ("scale_factor", "add_offset", "_FillValue", "missing_value")


@dataclass(frozen=True)
class GridGeometry:
    """Metric cell geometry of a DEM grid, per row.

    Attributes
    ----------
    dx_m, dy_m
        Signed spacing of consecutive columns/rows in metres, per row (``dx_m`` > 0 when x
        increases eastwards, ``dy_m`` < 0 for north-up grids). ``dx_m`` is 0 on a row centred
        on a pole.
    wrap
        True for a global longitude grid: the first and last columns are neighbours.
    geographic
        True when the grid is in degrees of longitude/latitude.
    """

    dx_m: FloatArray
    dy_m: FloatArray
    wrap: bool
    geographic: bool

    def coefficients(self) -> tuple[FloatArray, FloatArray]:
        """``1 / (8 dx)`` and ``1 / (8 dy)`` per row; NaN on rows without east–west extent."""
        with np.errstate(divide="ignore"):
            kx = np.where(self.dx_m != 0.0, 1.0 / (8.0 * self.dx_m), np.nan)
        ky = 1.0 / (8.0 * self.dy_m)
        return kx, ky


def _check_regular(values: FloatArray, step: float, axis: str, name: Any) -> None:
    if step == 0.0 or not np.isfinite(step):
        raise ValidationError(f"DEM {name!r}: {axis} coordinates do not advance (step {step!r})")
    if values.size > 2 and np.max(np.abs(np.diff(values) - step)) > 1e-4 * abs(step):
        raise ValidationError(
            f"DEM {name!r}: {axis} coordinates are not evenly spaced (step {step!r}); "
            "regrid it first, e.g. with dem.rio.reproject(dem.rio.crs)"
        )


def geometry(dem: xr.DataArray) -> GridGeometry:
    """Check that ``dem`` is a ``("y", "x")`` Mars grid and return its metric cell geometry.

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
    crs = CRS.from_user_input(require_mars_crs(dem.rio.crs, what=f"DEM {dem.name!r}"))
    ny, nx = dem.shape
    if ny < 3 or nx < 3:
        raise ValidationError(f"DEM {dem.name!r} has {ny}×{nx} cells; 3×3 kernels need >= 3×3")
    _x0, dx, _y0, dy, is_global = grid_geometry(dem)
    xs = np.asarray(dem["x"].values, dtype=np.float64)
    ys = np.asarray(dem["y"].values, dtype=np.float64)
    _check_regular(xs, dx, "x", dem.name)
    _check_regular(ys, dy, "y", dem.name)
    if crs.is_geographic:
        if np.max(np.abs(ys)) > 90.0 + 1e-9:
            raise ValidationError(
                f"DEM {dem.name!r} has latitudes beyond ±90° (y from {ys[0]!r} to {ys[-1]!r}); "
                "a geographic grid needs y = planetocentric latitude"
            )
        rad = np.pi / 180.0
        cos_lat = np.cos(ys * rad)
        # a row centred on a pole has no east-west extent (cos 90° is 6e-17, not 0)
        cos_lat = np.where(np.abs(ys) >= 90.0 - 1e-9, 0.0, np.clip(cos_lat, 0.0, 1.0))
        dx_m = MARS_RADIUS_M * cos_lat * (dx * rad)
        dy_m = np.full(ny, MARS_RADIUS_M * dy * rad)
        return GridGeometry(dx_m=dx_m, dy_m=dy_m, wrap=is_global, geographic=True)
    ux = float(crs.axis_info[0].unit_conversion_factor) if crs.axis_info else 1.0
    uy = float(crs.axis_info[1].unit_conversion_factor) if len(crs.axis_info) > 1 else ux
    return GridGeometry(
        dx_m=np.full(ny, dx * ux), dy_m=np.full(ny, dy * uy), wrap=False, geographic=False
    )


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
    geom = geometry(dem)
    kx, ky = geom.coefficients()
    if gradient_scale != 1.0:
        kx, ky = kx * gradient_scale, ky * gradient_scale
    p = np.asarray(params, dtype=np.float64) if params else np.zeros(1, dtype=np.float64)
    data = dem.data
    if hasattr(data, "map_overlap") and hasattr(data, "chunks"):
        out = _run_dask(data, kernel=kernel, kx=kx, ky=ky, params=p, wrap=geom.wrap)
    else:
        out = _run_numpy(np.asarray(data), kernel=kernel, kx=kx, ky=ky, params=p, wrap=geom.wrap)
    attrs = {k: v for k, v in dem.attrs.items() if k not in _DROP_ATTRS}
    attrs.update(units=units, long_name=long_name, **(extra_attrs or {}))
    return xr.DataArray(out, dims=dem.dims, coords=dem.coords, attrs=attrs, name=name)
