"""Shaded relief (``gdaldem hillshade``) from true-metre gradients."""

from __future__ import annotations

import math

import xarray as xr

from marsgis.exceptions import ValidationError
from marsgis.terrain._dispatch import run_kernel
from marsgis.terrain._kernels import hillshade_kernel

__all__ = ["hillshade"]


def hillshade(
    dem: xr.DataArray,
    *,
    azimuth: float = 315.0,
    altitude: float = 45.0,
    z_factor: float = 1.0,
    name: str | None = "hillshade",
) -> xr.DataArray:
    """Shaded relief of a DEM lit from ``azimuth``/``altitude``, as ``gdaldem hillshade``.

    ``1 + 254 · max(0, (sin alt − cos alt · (q cos az + p sin az)) / sqrt(1 + p² + q²))``
    with ``p = dz/deast`` and ``q = dz/dnorth`` from Horn's 3×3 gradient in true metres
    (times ``z_factor``). ``gdaldem`` computes the same value and rounds it into a Byte band
    with 0 as nodata; here it stays float32 in [1, 255] with NaN for nodata.

    Parameters
    ----------
    dem
        Elevations in metres, dims ``("y", "x")``, Mars CRS (numpy- or dask-backed).
    azimuth
        Direction of the light, degrees clockwise from north (default 315, the north-west).
    altitude
        Elevation of the light above the horizon in degrees, 0–90 (default 45).
    z_factor
        Vertical exaggeration (default 1).
    name
        Name of the result.

    Returns
    -------
    xarray.DataArray
        float32 in [1, 255], same dims, coords and attrs as ``dem`` with ``units="1"`` and
        the light in ``attrs["azimuth"]``/``attrs["altitude"]``. NaN for nodata windows and
        the grid's edges (see :func:`slope`).

    Raises
    ------
    ValidationError
        ``altitude`` outside [0, 90], a non-finite ``azimuth`` or ``z_factor``; and as
        :func:`slope`.
    """
    for label, value in (("azimuth", azimuth), ("altitude", altitude), ("z_factor", z_factor)):
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValidationError(f"hillshade {label}={value!r} must be a finite number")
    if not 0.0 <= altitude <= 90.0:
        raise ValidationError(
            f"hillshade altitude={altitude!r} must lie in [0, 90] degrees above the horizon"
        )
    az = math.radians(azimuth)
    alt = math.radians(altitude)
    params = (math.sin(alt), math.cos(alt) * math.cos(az), math.cos(alt) * math.sin(az))
    return run_kernel(
        dem,
        hillshade_kernel,
        name=name,
        units="1",
        long_name="hillshade",
        params=params,
        gradient_scale=float(z_factor),
        extra_attrs={"azimuth": float(azimuth), "altitude": float(altitude)},
    )
