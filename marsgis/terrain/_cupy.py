"""The CuPy backend of the terrain kernels: the same 3×3 windows as array expressions.

Each numba kernel of :mod:`marsgis.terrain._kernels` has a counterpart here, written against
the array namespace ``xp`` (CuPy on a GPU; numpy gives the same arithmetic on the CPU, which
is how CI checks these formulas against the numba kernels). The values are float32 as in the
numba kernels; edge rows (and edge columns unless the grid wraps in longitude) are NaN.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from marsgis.exceptions import DependencyNotFoundError
from marsgis.terrain import _kernels

__all__ = ["cupy_module", "is_cupy", "run_array"]


def is_cupy(data: Any) -> bool:
    """Whether ``data`` is a CuPy array (checked without importing CuPy)."""
    return type(data).__module__.split(".")[0] == "cupy"


def cupy_module() -> Any:
    """The ``cupy`` module, or a DependencyNotFoundError saying how to install it."""
    try:
        import cupy  # type: ignore[import-not-found, unused-ignore]
    except ImportError as exc:
        raise DependencyNotFoundError(
            f"CuPy-backed DEMs need CuPy, which is not installed ({exc}); install the wheel "
            "for your CUDA version, e.g. pip install cupy-cuda12x, or pass a numpy/dask DEM"
        ) from exc
    return cupy


def _windows(xp: Any, z: Any, wrap: bool) -> tuple[Any, ...]:
    """The nine neighbours a..i of every interior row (columns wrapped or NaN-padded)."""
    nan = xp.asarray(np.float32(np.nan))
    if wrap:
        zp = xp.concatenate([z[:, -1:], z, z[:, :1]], axis=1)
    else:
        col = xp.full((z.shape[0], 1), nan, dtype=xp.float32)
        zp = xp.concatenate([col, z, col], axis=1)
    up, md, dn = zp[:-2], zp[1:-1], zp[2:]
    return (
        up[:, :-2], up[:, 1:-1], up[:, 2:],
        md[:, :-2], md[:, 1:-1], md[:, 2:],
        dn[:, :-2], dn[:, 1:-1], dn[:, 2:],
    )  # fmt: skip


def _horn(xp: Any, w: tuple[Any, ...], kx: Any, ky: Any) -> tuple[Any, Any]:
    a, b, c, d, _e, f, g, h, i = w
    two = np.float32(2.0)
    p = ((c - a) + two * (f - d) + (i - g)) * kx
    q = ((g - a) + two * (h - b) + (i - c)) * ky
    return p, q


def _slope(xp: Any, w: tuple[Any, ...], kx: Any, ky: Any, params: Any) -> Any:
    p, q = _horn(xp, w, kx, ky)
    e = w[4]
    return xp.degrees(xp.arctan(xp.sqrt(p * p + q * q + (e - e)))).astype(xp.float32)


def _aspect(xp: Any, w: tuple[Any, ...], kx: Any, ky: Any, params: Any) -> Any:
    p, q = _horn(xp, w, kx, ky)
    e = w[4]
    deg = xp.degrees(xp.arctan2(-p, -q)).astype(xp.float32) + (e - e)
    deg = xp.where(deg < 0, deg + np.float32(360.0), deg)
    deg = xp.where(deg >= np.float32(360.0), np.float32(0.0), deg + np.float32(0.0))
    return xp.where((p == 0) & (q == 0), np.float32(np.nan), deg).astype(xp.float32)


def _roughness(xp: Any, w: tuple[Any, ...], kx: Any, ky: Any, params: Any) -> Any:
    stack = xp.stack(w)
    spread = stack.max(axis=0) - stack.min(axis=0)  # NaN when any cell is nodata
    return spread.astype(xp.float32)


def _hillshade(xp: Any, w: tuple[Any, ...], kx: Any, ky: Any, params: Any) -> Any:
    p, q = _horn(xp, w, kx, ky)
    e = w[4]
    s0, s1, s2 = (np.float32(v) for v in params[:3])
    v = (
        np.float32(254.0)
        * (s0 - (q * s1 + p * s2))
        / xp.sqrt(np.float32(1.0) + p * p + q * q + (e - e))
    )
    return xp.where(v <= 0, np.float32(1.0), np.float32(1.0) + v).astype(xp.float32)


#: numba kernel → its array-expression counterpart
_BACKEND: dict[Callable[..., None], Callable[..., Any]] = {
    _kernels.slope_kernel: _slope,
    _kernels.aspect_kernel: _aspect,
    _kernels.roughness_kernel: _roughness,
    _kernels.hillshade_kernel: _hillshade,
}


def run_array(
    xp: Any, values: Any, *, kernel: Callable[..., None], kx: Any, ky: Any, params: Any, wrap: bool
) -> Any:
    """The CuPy (or, with ``xp=numpy``, CPU) counterpart of ``kernel`` on ``values``."""
    try:
        fn = _BACKEND[kernel]
    except KeyError:
        raise DependencyNotFoundError(
            f"terrain kernel {getattr(kernel, '__name__', kernel)!r} has no CuPy version; "
            "pass a numpy or dask DEM"
        ) from None
    z = xp.asarray(values, dtype=xp.float32)
    ny, nx = z.shape
    out = xp.full((ny, nx), np.float32(np.nan), dtype=xp.float32)
    w = _windows(xp, z, wrap)
    kxr = xp.asarray(np.asarray(kx, dtype=np.float32)[1:-1, None])
    kyr = xp.asarray(np.asarray(ky, dtype=np.float32)[1:-1, None])
    out[1:-1] = fn(xp, w, kxr, kyr, np.asarray(params, dtype=np.float64))
    if not wrap:
        out[:, 0] = np.float32(np.nan)
        out[:, -1] = np.float32(np.nan)
    return out
