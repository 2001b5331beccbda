# ruff: noqa: PLR0917  (numba kernels take the 3x3 window as positional scalars)
"""Numba 3×3 stencil kernels behind :mod:`marsgis.terrain` (private).

Every kernel has the signature ``kernel(z, kx, ky, params, wrap, out)``:

``z``
    C-contiguous float32 elevations ``(ny, nx)``, NaN for nodata.
``kx``, ``ky``
    float64 per row: ``1 / (8 * dx)`` and ``1 / (8 * dy)`` with ``dx``/``dy`` the signed
    metric spacing of the grid's x (east) and y (north) coordinates in that row, so that
    Horn's weighted differences times ``kx``/``ky`` are ``dz/deast`` and ``dz/dnorth``.
``params``
    float64 product parameters (only hillshade uses them).
``wrap``
    True when the first and last columns are neighbours (global longitude grids).
``out``
    float32 ``(ny, nx)``, written completely: the first and last rows, and the first and last
    columns unless ``wrap``, are NaN (their 3×3 window is incomplete).

Arithmetic is float32 and branch-free so that LLVM vectorises the inner loop (fastmath stays
off: no reassociation, no FMA contraction, so the same window always gives bit-identical
output, in the vector body, the scalar wrap columns and every dask block). Horn's sums are
built from neighbour *differences* (``c - a`` etc.), which are exact in float32 for nearby
elevations, so a 1 m grid at −4500 m loses no precision. ``atan`` is Cephes' single-precision
``atanf`` (max error 1.4e-7 rad ≈ 8e-6°).

Each product has its own row loop, written out, although the loops share their shape: numba
caches compiled machine code (``cache=True``) only for module-level functions, and a kernel
built by a factory closing over the cell function is recompiled in every process (checked with
``NUMBA_DEBUG_CACHE=1``: "data saved", never "data loaded"). That would cost each CLI call and
each dask worker seconds of compilation, so the loops stay one per product; what differs, the
per-cell arithmetic, lives once in the ``_*_cell`` functions.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = [
    "aspect_kernel",
    "hillshade_kernel",
    "nan_stats",
    "roughness_kernel",
    "slope_kernel",
]

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


@njit(inline="always", cache=True)
def _atan_pos(x):  # type: ignore[no-untyped-def]
    """Cephes ``atanf`` for x >= 0 (NaN in, NaN out), written with selects only."""
    big = x > _T3P8
    mid = x > _TP8
    num = -_ONE if big else (x - _ONE if mid else x)
    den = x if big else (x + _ONE if mid else _ONE)
    y0 = _PIO2 if big else (_PIO4 if mid else _ZERO)
    t = num / den
    z = t * t
    return y0 + ((((_C0 * z - _C1) * z + _C2) * z - _C3) * z * t + t)


@njit(inline="always", cache=True)
def _atan2(y, x):  # type: ignore[no-untyped-def]
    """``atan2(y, x)`` in radians, (−π, π]; NaN when both are zero (callers handle that)."""
    ax = abs(x)
    ay = abs(y)
    hi = ax if ax > ay else ay
    lo = ay if ax > ay else ax
    r = _atan_pos(lo / hi)
    r = _PIO2 - r if ay > ax else r
    r = _PI - r if x < _ZERO else r
    return -r if y < _ZERO else r


@njit(inline="always", cache=True)
def _horn(a, b, c, d, f, g, h, i, kx, ky):  # type: ignore[no-untyped-def]
    """Horn's gradient ``(dz/deast, dz/dnorth)`` of the window a b c / d e f / g h i."""
    p = ((c - a) + _TWO * (f - d) + (i - g)) * kx
    q = ((g - a) + _TWO * (h - b) + (i - c)) * ky
    return p, q


@njit(inline="always", cache=True)
def _slope_cell(a, b, c, d, e, f, g, h, i, kx, ky):  # type: ignore[no-untyped-def]
    p, q = _horn(a, b, c, d, f, g, h, i, kx, ky)
    t = p * p + q * q + (e - e)  # (e - e) is 0, or NaN when the centre is nodata
    return _atan_pos(np.sqrt(t)) * _DEG


@njit(inline="always", cache=True)
def _aspect_cell(a, b, c, d, e, f, g, h, i, kx, ky):  # type: ignore[no-untyped-def]
    p, q = _horn(a, b, c, d, f, g, h, i, kx, ky)
    # azimuth of the downslope direction (-p east, -q north), clockwise from north
    deg = _atan2(-p, -q) * _DEG + (e - e)
    deg = deg + _F360 if deg < _ZERO else deg
    deg = _ZERO if deg >= _F360 else deg + _ZERO  # 360 -> 0, -0 -> +0
    flat = (p == _ZERO) & (q == _ZERO)
    return _NAN if flat else deg


@njit(inline="always", cache=True)
def _roughness_cell(a, b, c, d, e, f, g, h, i):  # type: ignore[no-untyped-def]
    hi = a
    lo = a
    for v in (b, c, d, e, f, g, h, i):
        hi = v if v > hi else hi
        lo = v if v < lo else lo
    # the sum is finite times zero, or NaN when any cell of the window is nodata
    return (hi - lo) + (a + b + c + d + e + f + g + h + i) * _ZERO


@njit(inline="always", cache=True)
def _hillshade_cell(a, b, c, d, e, f, g, h, i, kx, ky, s0, s1, s2):  # type: ignore[no-untyped-def]
    p, q = _horn(a, b, c, d, f, g, h, i, kx, ky)
    t = _ONE + p * p + q * q + (e - e)
    v = _F254 * (s0 - (q * s1 + p * s2)) / np.sqrt(t)
    return _ONE if v <= _ZERO else _ONE + v  # NaN stays NaN, as in gdaldem


@njit(parallel=True, fastmath=False, cache=True, nogil=True)
def slope_kernel(z, kx, ky, params, wrap, out):  # type: ignore[no-untyped-def]
    """Slope in degrees (Horn), see the module docstring for the arguments."""
    ny, nx = z.shape
    w = nx - 1
    for r in prange(ny):
        o = out[r]
        if r == 0 or r == ny - 1:
            o[:] = _NAN
        else:
            up = z[r - 1]
            md = z[r]
            dn = z[r + 1]
            sx = _F(kx[r])
            sy = _F(ky[r])
            for j in range(1, w):
                o[j] = _slope_cell(
                    up[j - 1], up[j], up[j + 1], md[j - 1], md[j], md[j + 1],
                    dn[j - 1], dn[j], dn[j + 1], sx, sy,
                )  # fmt: skip
            if wrap:
                o[0] = _slope_cell(
                    up[w], up[0], up[1], md[w], md[0], md[1], dn[w], dn[0], dn[1], sx, sy
                )
                o[w] = _slope_cell(
                    up[w - 1], up[w], up[0], md[w - 1], md[w], md[0],
                    dn[w - 1], dn[w], dn[0], sx, sy,
                )  # fmt: skip
            else:
                o[0] = _NAN
                o[w] = _NAN


@njit(parallel=True, fastmath=False, cache=True, nogil=True)
def aspect_kernel(z, kx, ky, params, wrap, out):  # type: ignore[no-untyped-def]
    """Aspect in degrees clockwise from north, NaN where flat."""
    ny, nx = z.shape
    w = nx - 1
    for r in prange(ny):
        o = out[r]
        if r == 0 or r == ny - 1:
            o[:] = _NAN
        else:
            up = z[r - 1]
            md = z[r]
            dn = z[r + 1]
            sx = _F(kx[r])
            sy = _F(ky[r])
            for j in range(1, w):
                o[j] = _aspect_cell(
                    up[j - 1], up[j], up[j + 1], md[j - 1], md[j], md[j + 1],
                    dn[j - 1], dn[j], dn[j + 1], sx, sy,
                )  # fmt: skip
            if wrap:
                o[0] = _aspect_cell(
                    up[w], up[0], up[1], md[w], md[0], md[1], dn[w], dn[0], dn[1], sx, sy
                )
                o[w] = _aspect_cell(
                    up[w - 1], up[w], up[0], md[w - 1], md[w], md[0],
                    dn[w - 1], dn[w], dn[0], sx, sy,
                )  # fmt: skip
            else:
                o[0] = _NAN
                o[w] = _NAN


@njit(parallel=True, fastmath=False, cache=True, nogil=True)
def roughness_kernel(z, kx, ky, params, wrap, out):  # type: ignore[no-untyped-def]
    """Roughness: max − min of the 3×3 window (``kx``, ``ky``, ``params`` unused)."""
    ny, nx = z.shape
    w = nx - 1
    for r in prange(ny):
        o = out[r]
        if r == 0 or r == ny - 1:
            o[:] = _NAN
        else:
            up = z[r - 1]
            md = z[r]
            dn = z[r + 1]
            for j in range(1, w):
                o[j] = _roughness_cell(
                    up[j - 1], up[j], up[j + 1], md[j - 1], md[j], md[j + 1],
                    dn[j - 1], dn[j], dn[j + 1],
                )  # fmt: skip
            if wrap:
                o[0] = _roughness_cell(
                    up[w], up[0], up[1], md[w], md[0], md[1], dn[w], dn[0], dn[1]
                )
                o[w] = _roughness_cell(
                    up[w - 1], up[w], up[0], md[w - 1], md[w], md[0], dn[w - 1], dn[w], dn[0]
                )
            else:
                o[0] = _NAN
                o[w] = _NAN


@njit(parallel=True, fastmath=False, cache=True, nogil=True)
def hillshade_kernel(z, kx, ky, params, wrap, out):  # type: ignore[no-untyped-def]
    """Hillshade 1–255; ``params = (sin alt, cos alt · cos az, cos alt · sin az)``."""
    ny, nx = z.shape
    w = nx - 1
    s0 = _F(params[0])
    s1 = _F(params[1])
    s2 = _F(params[2])
    for r in prange(ny):
        o = out[r]
        if r == 0 or r == ny - 1:
            o[:] = _NAN
        else:
            up = z[r - 1]
            md = z[r]
            dn = z[r + 1]
            sx = _F(kx[r])
            sy = _F(ky[r])
            for j in range(1, w):
                o[j] = _hillshade_cell(
                    up[j - 1], up[j], up[j + 1], md[j - 1], md[j], md[j + 1],
                    dn[j - 1], dn[j], dn[j + 1], sx, sy, s0, s1, s2,
                )  # fmt: skip
            if wrap:
                o[0] = _hillshade_cell(
                    up[w], up[0], up[1], md[w], md[0], md[1], dn[w], dn[0], dn[1],
                    sx, sy, s0, s1, s2,
                )  # fmt: skip
                o[w] = _hillshade_cell(
                    up[w - 1], up[w], up[0], md[w - 1], md[w], md[0],
                    dn[w - 1], dn[w], dn[0], sx, sy, s0, s1, s2,
                )  # fmt: skip
            else:
                o[0] = _NAN
                o[w] = _NAN


@njit(fastmath={"reassoc"}, cache=True, nogil=True)
def _nan_sum_count(x):  # type: ignore[no-untyped-def]
    """float64 sum and count of the non-NaN cells of a 2-D float32 array.

    ``reassoc`` lets LLVM vectorise the sum, so its rounding differs from a sequential sum's
    by about 1e-16 relative.
    """
    total = 0.0
    count = 0
    for r in range(x.shape[0]):
        row = x[r]
        for j in range(row.shape[0]):
            v = np.float64(row[j])
            ok = not np.isnan(v)
            total += v if ok else 0.0
            count += 1 if ok else 0
    return total, count


def nan_stats(x: np.ndarray) -> tuple[float, float, float, int]:  # type: ignore[type-arg]
    """``(min, max, sum, count)`` of the non-NaN cells of a 2-D float32 array (no copies).

    No cells: ``(inf, -inf, 0.0, 0)``. numpy's ``fmin``/``fmax`` reductions skip NaN and are
    vectorised; the sum and count are one vectorised pass.
    """
    total, count = _nan_sum_count(x)
    if count == 0:
        return np.inf, -np.inf, 0.0, 0
    lo = float(np.fmin.reduce(x, axis=None))
    hi = float(np.fmax.reduce(x, axis=None))
    return lo, hi, float(total), int(count)
