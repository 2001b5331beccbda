"""Mars coordinate reference systems, the body radius and coordinate checks.

Mars 2000 / IAU 2015 sphere, R = 3 396 190 m. Geographic grids use ``IAU_2015:49900``
(planetocentric, east-positive); equirectangular ``IAU_2015:49910``. No Earth default exists
anywhere in this module.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from pyproj import CRS

from marsgis.exceptions import (
    BodyMismatchError,
    CoordinateError,
    GeographicCRSError,
    MissingCRSError,
)

__all__ = [
    "MARS_EQC",
    "MARS_GEOGRAPHIC",
    "MARS_RADIUS_M",
    "cell_sizes_m",
    "crs_from_user_input",
    "is_mars_crs",
    "is_mars_lonlat_sphere",
    "normalize_lon",
    "require_mars_crs",
    "require_projected",
    "validate_latlon",
]

#: Mean radius of the Mars 2000 / IAU 2015 sphere, metres.
MARS_RADIUS_M = 3_396_190.0
#: Geographic (planetocentric, east-positive) CRS code.
MARS_GEOGRAPHIC = "IAU_2015:49900"
#: Equirectangular (equidistant cylindrical, clon = 0) CRS code.
MARS_EQC = "IAU_2015:49910"

# Any reference body whose semi-major axis lies in this band is Mars (areoid, MOLA sphere
# 3396.0 km, IAU 2000/2015 ellipsoid 3396.19 km). Earth (~6378 km) and the Moon (1737 km) fall out.
_MARS_AXIS_RANGE_M = (3_370_000.0, 3_400_000.0)


def crs_from_user_input(value: Any) -> CRS:
    """Return a :class:`pyproj.CRS` for ``value`` and refuse anything that is not Mars.

    Parameters
    ----------
    value
        Anything :meth:`pyproj.CRS.from_user_input` accepts (``"IAU_2015:49900"``, WKT, PROJ).

    Raises
    ------
    MissingCRSError
        ``value`` is None.
    BodyMismatchError
        The CRS describes another body.
    """
    if value is None:
        raise MissingCRSError(
            "no CRS given; pass a Mars CRS such as 'IAU_2015:49900' "
            "(or write one with dem.rio.write_crs('IAU_2015:49900'))"
        )
    crs = CRS.from_user_input(value)
    require_mars_crs(crs)
    return crs


def is_mars_crs(crs: CRS) -> bool:
    """True when ``crs`` is referenced to a Mars sphere or ellipsoid."""
    ellipsoid = crs.ellipsoid
    if ellipsoid is None:
        return False
    lo, hi = _MARS_AXIS_RANGE_M
    return bool(lo <= ellipsoid.semi_major_metre <= hi)


def is_mars_lonlat_sphere(crs: CRS) -> bool:
    """True when ``crs`` is lon/lat °E on a Mars sphere, so ``IAU_2015:49900`` names it exactly.

    On a sphere planetocentric and planetographic latitudes coincide; on an ellipsoid
    (``IAU_2015:49901`` planetographic, ``49902`` planetocentric) they do not, and such a CRS
    is kept as the file gives it.
    """
    ellipsoid = crs.ellipsoid
    if ellipsoid is None or ellipsoid.semi_minor_metre != ellipsoid.semi_major_metre:
        return False
    directions = [a.direction.lower() for a in crs.axis_info]
    units = {a.unit_name.lower() for a in crs.axis_info}
    meridian = crs.prime_meridian
    return (
        "west" not in directions
        and units <= {"degree"}
        and (meridian is None or meridian.longitude == 0.0)
    )


def require_mars_crs(crs: Any, *, what: str = "dataset") -> CRS:
    """Return ``crs`` (anything pyproj reads) as a pyproj CRS when it is Mars; raise otherwise."""
    if crs is None:
        raise MissingCRSError(
            f"the {what} has no CRS; write one with .rio.write_crs('IAU_2015:49900') "
            "for a lon/lat grid or give the file's projected Mars CRS"
        )
    crs = CRS.from_user_input(crs)
    if not is_mars_crs(crs):
        axis = crs.ellipsoid.semi_major_metre if crs.ellipsoid is not None else None
        raise BodyMismatchError(
            f"the {what}'s CRS {crs.name!r} (semi-major axis {axis!r} m) is not a Mars CRS; "
            f"marsgis works on Mars only: use {MARS_GEOGRAPHIC!r} (lon/lat) or {MARS_EQC!r} "
            "(equirectangular metres)"
        )
    return crs


def require_projected(crs: CRS, *, operation: str) -> CRS:
    """Raise :class:`GeographicCRSError` unless ``crs`` is projected."""
    if not crs.is_projected:
        raise GeographicCRSError(
            f"{operation} needs a projected Mars CRS; got the geographic CRS {crs.name!r}. "
            f"Reproject first, e.g. dem.rio.reproject({MARS_EQC!r})"
        )
    return crs


def normalize_lon(lon: npt.ArrayLike, *, center: float = 180.0) -> npt.NDArray[np.float64]:
    """Wrap east-positive longitudes into ``[center - 180, center + 180)`` by whole turns.

    ``center=180`` gives 0–360 °E, ``center=0`` gives −180–180 °E (the convention of every
    longitude marsgis returns; see :func:`marsgis.geo.lon180`). Values already in range are
    returned unchanged, bit for bit. This is the one longitude-wrapping implementation of
    marsgis.
    """
    arr = np.asarray(lon, dtype=np.float64)
    lo = float(center) - 180.0
    hi = lo + 360.0
    turns = np.floor((arr - lo) / 360.0)
    out = np.where((arr >= lo) & (arr < hi), arr, arr - 360.0 * turns)
    # a value a hair below ``lo`` rounds up to ``hi`` after adding a turn
    out = np.where(out >= hi, out - 360.0, out)
    return np.asarray(out, dtype=np.float64)


def validate_latlon(
    lat: npt.ArrayLike, lon: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Check planetocentric latitudes and east-positive longitudes.

    Latitudes must lie in [−90, 90]; longitudes in [−180, 360] (both the 0–360 and the
    −180–180 conventions are accepted). Both must be finite.

    Returns
    -------
    (lat, lon)
        float64 arrays broadcast to one shape, longitudes normalised to 0–360 °E.

    Raises
    ------
    CoordinateError
        With the first offending value and the accepted range.
    """
    try:
        lat_a, lon_a = np.broadcast_arrays(
            np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
        )
    except (TypeError, ValueError) as exc:
        raise CoordinateError(
            f"latitude {lat!r} and longitude {lon!r} must be numbers or arrays of one shape"
        ) from exc
    bad = ~np.isfinite(lat_a)
    if bad.any():
        raise CoordinateError(
            f"latitude {float(lat_a[bad].flat[0])!r} is not finite; give planetocentric degrees in [-90, 90]"
        )
    bad = ~np.isfinite(lon_a)
    if bad.any():
        raise CoordinateError(
            f"longitude {float(lon_a[bad].flat[0])!r} is not finite; give east-positive degrees "
            "in [0, 360] or [-180, 180]"
        )
    bad = np.abs(lat_a) > 90.0
    if bad.any():
        raise CoordinateError(
            f"latitude {float(lat_a[bad].flat[0])!r} is outside [-90, 90]; "
            "did you swap latitude and longitude?"
        )
    bad = (lon_a < -180.0) | (lon_a > 360.0)
    if bad.any():
        raise CoordinateError(
            f"longitude {float(lon_a[bad].flat[0])!r} is outside [-180, 360]; give east-positive "
            "degrees in [0, 360] or [-180, 180]"
        )
    return lat_a.astype(np.float64), normalize_lon(lon_a)


def geographic_crs() -> CRS:
    """The Mars geographic CRS (``IAU_2015:49900``) as a pyproj object."""
    return CRS.from_user_input(MARS_GEOGRAPHIC)


__all__ += ["geographic_crs"]


def crs_code(crs: Any) -> str:
    """A short identifier for ``crs``: ``"IAU_2015:49900"`` for the Mars lon/lat CRS, etc.

    GDAL writes IAU codes as ``AUTHORITY["IAU", ...]``, which pyproj cannot map back, so the
    marsgis CRSs are recognised by equality; others fall back to their authority code or name.
    """
    obj = CRS.from_user_input(crs)
    for code in (MARS_GEOGRAPHIC, MARS_EQC):
        if obj == CRS.from_user_input(code):
            return code
    auth = obj.to_authority()
    return ":".join(auth) if auth else str(obj.name)


__all__ += ["crs_code"]


def cell_sizes_m(
    crs: CRS, y: npt.ArrayLike, dx: float, dy: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Signed east–west and north–south cell spacing of each row of a regular grid, metres.

    The one formula behind :meth:`marsgis.geo.Grid.cell_size_m` and the streaming terrain CLI
    (which must not import xarray). On a geographic grid ``dx = R cos φ Δλ`` (exactly 0 on a row
    centred on a pole) and ``dy = R Δφ``; on a projected grid the pixel size in metres.

    Parameters
    ----------
    crs
        The grid's CRS.
    y
        Row centres (latitudes on a geographic grid), one per row.
    dx, dy
        The grid's steps in CRS units (signed).

    >>> dx_m, dy_m = cell_sizes_m(CRS(MARS_GEOGRAPHIC), [0.0, 90.0], 1.0, -1.0)
    >>> round(float(dx_m[0]), 1), float(dx_m[1]), round(float(dy_m[0]), 1)
    (59274.7, 0.0, -59274.7)
    """
    ys = np.asarray(y, dtype=float)
    ny = ys.size
    if crs.is_geographic:
        rad = np.pi / 180.0
        cos_lat = np.cos(ys * rad)
        # a row centred on a pole has no east-west extent (cos 90° is 6e-17, not 0)
        cos_lat = np.where(np.abs(ys) >= 90.0 - 1e-9, 0.0, np.clip(cos_lat, 0.0, 1.0))
        return MARS_RADIUS_M * cos_lat * (dx * rad), np.full(ny, MARS_RADIUS_M * dy * rad)
    axes = crs.axis_info
    ux = float(axes[0].unit_conversion_factor) if axes else 1.0
    uy = float(axes[1].unit_conversion_factor) if len(axes) > 1 else ux
    return np.full(ny, dx * ux), np.full(ny, dy * uy)
