"""Where colonies lie: boundaries around real places of the IAU gazetteer.

>>> site, boundary = colony_boundary("Jezero", radius_km=5)
>>> site, round(boundary.centroid.x, 2), round(boundary.centroid.y, 2)
('Jezero', 77.69, 18.41)
"""

from __future__ import annotations

from typing import Any

from marsgis.exceptions import ValidationError

__all__ = ["colony_boundary"]


def colony_boundary(site: str, *, radius_km: float = 5.0, vertices: int = 64) -> tuple[str, Any]:
    """A circular boundary of ``radius_km`` on the Mars sphere centred on a gazetteer feature.

    Returns the feature's IAU name and a shapely polygon in lon/lat °E (``IAU_2015:49900``).

    Raises
    ------
    DataNotFoundError
        ``site`` is not in the IAU gazetteer (the message suggests close names).
    """
    from marsgis.geo.ellipse import ellipse_polygon
    from marsgis.io.vector import gazetteer

    if not (isinstance(radius_km, int | float) and 0 < radius_km <= 500):
        raise ValidationError(f"radius_km {radius_km!r} must be a number in (0, 500] km")
    feature = gazetteer(site)
    polygon = ellipse_polygon(feature.lat, feature.lon, radius_km, radius_km, n=vertices)
    return feature.name, polygon
