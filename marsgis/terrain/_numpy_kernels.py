# ruff: noqa: PLR0917  (the signature of the numba kernels they stand in for)
"""The numba kernels of :mod:`marsgis.terrain._kernels` as numpy expressions, bit for bit (private).

Same signature, ``kernel(z, kx, ky, params, wrap, out)``, same float32 arithmetic in the same
order (Horn's sums of neighbour differences, Cephes' ``atanf`` written with selects, the
``(e - e)`` nodata trick), so every cell of ``out`` equals the numba kernel's, NaN where NaN
(``tests/terrain/test_terrain_numpy_kernels.py`` checks it on real DEMs and random windows with
nodata). numpy's float32 ``+ - * / sqrt`` round as numba's do without ``fastmath``.

Why a second copy: importing numba and loading a cached kernel costs a fresh process about half
a second, far more than the work on a small DEM, so the streaming file path
(:mod:`marsgis.terrain.stream`, what ``marsgis terrain`` runs) uses these below
``stream._NUMPY_MAX_CELLS`` cells and never imports numba there. Large DEMs, in-memory and dask
inputs run the numba kernels (threaded, and without the temporaries these allocate). A change
to a kernel's arithmetic is made in both modules.

The float32 constants are repeated below rather than shared: importing them from ``_kernels``
would import numba, and a third module would go stale under numba's on-disk cache, which
checks only the kernel module's own file, not the modules its globals come from. The
bit-for-bit test catches any difference between the two copies.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "aspect_kernel",
    "hillshade_kernel",
    "nan_stats",
    "roughness_kernel",
    "slope_kernel",
]

F32 = npt.NDArray[np.float32]

_F = np.float32
_NAN = _F(np.nan)
_ZERO = _F(0.0)
_ONE = _F(1.0)
_TWO = _F(2.0)
_DEG = _F(180.0 / np.pi)
_PI = _F(np.pi)
_PIO2 = _F(np.pi / 2.0)
_PIO4 = _F(np.pi / 4.0)
_T3P8 = _F(2.414213562373095)  # tan(3π/8)
_TP8 = _F(0.4142135623730950)  # tan(π/8)
_C0 = _F(8.05374449538e-2)
_C1 = _F(1.38776856032e-1)
_C2 = _F(1.99777106478e-1)
_C3 = _F(3.33329491539e-1)
_F254 = _F(254.0)
_F360 = _F(360.0)


def _atan_pos(x: F32) -> F32:
    """Cephes ``atanf`` for x >= 0 (NaN in, NaN out): ``_kernels._atan_pos``."""
    big = x > _T3P8
    mid = x > _TP8
    num = np.where(big, -_ONE, np.where(mid, x - _ONE, x))
    den = np.where(big, x, np.where(mid, x + _ONE, _ONE))
    y0: Any = np.where(big, _PIO2, np.where(mid, _PIO4, _ZERO))  # float32 (numpy's stubs: any)
    t = num / den
    z = t * t
    out: F32 = y0 + ((((_C0 * z - _C1) * z + _C2) * z - _C3) * z * t + t)
    return out


def _atan2(y: F32, x: F32) -> F32:
    """``_kernels._atan2``: radians in (−π, π]."""
    ax = np.abs(x)
    ay = np.abs(y)
    x_wins = ax > ay
    hi: Any = np.where(x_wins, ax, ay)
    lo: Any = np.where(x_wins, ay, ax)
    r = _atan_pos(lo / hi)
    r = np.where(ay > ax, _PIO2 - r, r)
    r = np.where(x < _ZERO, _PI - r, r)
    out: F32 = np.where(y < _ZERO, -r, r)
    return out


def _windows(z: F32, wrap: bool) -> tuple[F32, ...]:
    """The nine neighbours a..i of the interior rows (columns wrapped, or each column's own)."""
    zp = np.concatenate([z[:, -1:], z, z[:, :1]], axis=1) if wrap else z
    up, md, dn = zp[:-2], zp[1:-1], zp[2:]
    return (
        up[:, :-2], up[:, 1:-1], up[:, 2:],
        md[:, :-2], md[:, 1:-1], md[:, 2:],
        dn[:, :-2], dn[:, 1:-1], dn[:, 2:],
    )  # fmt: skip


def _horn(w: tuple[F32, ...], kx: Any, ky: Any) -> tuple[F32, F32]:
    a, b, c, d, _e, f, g, h, i = w
    p = ((c - a) + _TWO * (f - d) + (i - g)) * kx
    q = ((g - a) + _TWO * (h - b) + (i - c)) * ky
    return p, q


def _row_scales(kx: Any, ky: Any, ny: int) -> tuple[F32, F32]:
    """``float32(kx[r])``, ``float32(ky[r])`` of the interior rows, as columns."""
    sx = np.asarray(kx[1 : ny - 1], dtype=np.float64).astype(np.float32)[:, None]
    sy = np.asarray(ky[1 : ny - 1], dtype=np.float64).astype(np.float32)[:, None]
    return sx, sy


def _finish(cells: F32, wrap: bool, out: F32) -> None:
    """Write the interior cells into ``out``: NaN edge rows, and edge columns unless ``wrap``."""
    out[0] = _NAN
    out[-1] = _NAN
    if wrap:
        out[1:-1] = cells
    else:
        out[1:-1, 1:-1] = cells
        out[1:-1, 0] = _NAN
        out[1:-1, -1] = _NAN


def slope_kernel(z: F32, kx: Any, ky: Any, params: Any, wrap: bool, out: F32) -> None:
    """``_kernels.slope_kernel``: slope in degrees (Horn)."""
    w = _windows(z, wrap)
    sx, sy = _row_scales(kx, ky, z.shape[0])
    p, q = _horn(w, sx, sy)
    e = w[4]
    t = p * p + q * q + (e - e)
    _finish(_atan_pos(np.sqrt(t)) * _DEG, wrap, out)


def aspect_kernel(z: F32, kx: Any, ky: Any, params: Any, wrap: bool, out: F32) -> None:
    """``_kernels.aspect_kernel``: degrees clockwise from north, NaN where flat."""
    w = _windows(z, wrap)
    sx, sy = _row_scales(kx, ky, z.shape[0])
    p, q = _horn(w, sx, sy)
    e = w[4]
    with np.errstate(invalid="ignore", divide="ignore"):  # 0 / 0 where flat (NaN, as numba)
        deg = _atan2(-p, -q) * _DEG + (e - e)
    deg = np.where(deg < _ZERO, deg + _F360, deg)
    deg = np.where(deg >= _F360, _ZERO, deg + _ZERO)
    flat = (p == _ZERO) & (q == _ZERO)
    _finish(np.where(flat, _NAN, deg), wrap, out)


def roughness_kernel(z: F32, kx: Any, ky: Any, params: Any, wrap: bool, out: F32) -> None:
    """``_kernels.roughness_kernel``: max − min of the 3×3 window."""
    w = _windows(z, wrap)
    hi = w[0]
    lo = w[0]
    total = w[0]
    for v in w[1:]:
        hi = np.where(v > hi, v, hi)
        lo = np.where(v < lo, v, lo)
        total = total + v
    _finish((hi - lo) + total * _ZERO, wrap, out)


def hillshade_kernel(z: F32, kx: Any, ky: Any, params: Any, wrap: bool, out: F32) -> None:
    """``_kernels.hillshade_kernel``: 1–255; ``params = (sin alt, cos alt cos az, cos alt sin az)``."""
    s0, s1, s2 = (_F(params[k]) for k in range(3))
    w = _windows(z, wrap)
    sx, sy = _row_scales(kx, ky, z.shape[0])
    p, q = _horn(w, sx, sy)
    e = w[4]
    t = _ONE + p * p + q * q + (e - e)
    v = _F254 * (s0 - (q * s1 + p * s2)) / np.sqrt(t)
    _finish(np.where(v <= _ZERO, _ONE, _ONE + v), wrap, out)


def nan_stats(x: F32) -> tuple[float, float, float, int]:
    """``_kernels.nan_stats``: ``(min, max, float64 sum, count)`` of the non-NaN cells."""
    valid = x[~np.isnan(x)]
    if not valid.size:
        return np.inf, -np.inf, 0.0, 0
    return float(valid.min()), float(valid.max()), float(valid.sum(dtype=np.float64)), valid.size
