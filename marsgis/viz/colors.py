"""The elevation colour ramp and hillshade blend of the Mars basemap.

Colours follow the usual MOLA palette: purple and blue in the deepest basins (Hellas floor,
about −8 km), green and yellow around the datum, orange, red and brown on the highlands and
white on the Tharsis volcanoes (Olympus Mons, about +21 km). Between anchors the colour is
linear in elevation, and one elevation has one colour at every zoom and in every DEM, so the
shipped DEMs join without a seam of colour.

Shading multiplies the colour by ``hillshade / FLAT_HILLSHADE``, clipped to
``SHADE_RANGE``: flat ground keeps its ramp colour exactly, slopes facing the light (from the
north-west) are brighter and the others darker.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = ["ELEVATION_RAMP", "FLAT_HILLSHADE", "SHADE_RANGE", "elevation_rgb", "shade_rgb"]

#: ``(elevation m, (r, g, b))`` anchors, elevations increasing.
ELEVATION_RAMP: tuple[tuple[float, tuple[int, int, int]], ...] = (
    (-8200.0, (54, 14, 110)),
    (-6000.0, (38, 60, 190)),
    (-4000.0, (30, 150, 210)),
    (-2000.0, (60, 180, 110)),
    (0.0, (190, 205, 80)),
    (2000.0, (240, 200, 70)),
    (4000.0, (225, 130, 50)),
    (8000.0, (175, 70, 45)),
    (13000.0, (150, 100, 85)),
    (21300.0, (255, 255, 255)),
)

#: Hillshade of flat ground lit from 45° above the horizon: ``1 + 254 sin 45°``.
FLAT_HILLSHADE = 1.0 + 254.0 * math.sin(math.radians(45.0))
#: Limits of the shading factor.
SHADE_RANGE = (0.3, 1.4)

_LEVELS = np.array([a[0] for a in ELEVATION_RAMP])
_COLOURS = np.array([a[1] for a in ELEVATION_RAMP], dtype=np.float64)


def elevation_rgb(elevation: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Ramp colour of elevations (metres) as float RGB in 0–255, shape ``(*shape, 3)``.

    Elevations beyond the end anchors take the end colours; NaN gives NaN.
    """
    z = np.asarray(elevation, dtype=np.float64)
    out = np.empty((*z.shape, 3), dtype=np.float64)
    for band in range(3):
        out[..., band] = np.interp(z, _LEVELS, _COLOURS[:, band])
    out[np.isnan(z)] = np.nan
    return out


def shade_rgb(rgb: npt.ArrayLike, hillshade: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Multiply colours by the hillshade factor (``hillshade / FLAT_HILLSHADE``, clipped)."""
    factor = np.clip(np.asarray(hillshade, dtype=np.float64) / FLAT_HILLSHADE, *SHADE_RANGE)
    return np.clip(np.asarray(rgb, dtype=np.float64) * factor[..., None], 0.0, 255.0)
