"""Science targets of a landing site and the science value of an ellipse.

Targets are points or polygons with weights. A target that touches the ellipse counts its
full weight; one outside counts ``weight × max(0, 1 − d / reach_km)`` where ``d`` is its
distance to the ellipse, the "go-to" reach of a rover after landing (20 km by default,
the order of Curiosity's drive to Mount Sharp). The science value is the weighted sum
divided by the sum of the weights, so it lies in [0, 1].
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from marsgis.crs import MARS_GEOGRAPHIC, validate_latlon
from marsgis.exceptions import ValidationError
from marsgis.geo import local_en, lon180

if TYPE_CHECKING:
    from marsgis.planning.ellipses import LandingEllipse

__all__ = ["make_targets", "science_value"]

FloatArray = npt.NDArray[np.float64]


def make_targets(targets: Any) -> gpd.GeoDataFrame:
    """Science targets as a GeoDataFrame with ``name``, ``weight`` and lon/lat geometry.

    Parameters
    ----------
    targets
        None (no targets); a GeoDataFrame (``weight`` defaults to 1, ``name`` to the index);
        a sequence whose items are gazetteer names (``"Aeolis Mons"``: a point at the
        feature's centre, weight 1), ``(name, lat, lon[, weight])`` tuples, mappings with
        ``lat``/``lon`` or ``geometry`` and optional ``name``/``weight``, or shapely
        geometries in lon/lat °E. Points built here have longitudes in −180–180 °E.

    Raises
    ------
    ValidationError
        An item of an unknown form, or a negative weight.
    """
    from marsgis.io.vector import gazetteer

    if targets is None:
        return gpd.GeoDataFrame({"name": [], "weight": []}, geometry=[], crs=MARS_GEOGRAPHIC)
    if isinstance(targets, gpd.GeoDataFrame):
        gdf = targets.copy()
        if "weight" not in gdf:
            gdf["weight"] = 1.0
        if "name" not in gdf:
            gdf["name"] = [str(i) for i in gdf.index]
        out = gpd.GeoDataFrame(
            {"name": gdf["name"].astype(str).tolist(), "weight": gdf["weight"].astype(float).tolist()},
            geometry=list(gdf.geometry), crs=MARS_GEOGRAPHIC,
        )  # fmt: skip
    else:
        if isinstance(targets, (str, BaseGeometry, dict)):
            targets = [targets]
        names: list[str] = []
        weights: list[float] = []
        geoms: list[BaseGeometry] = []
        for i, item in enumerate(targets):
            if isinstance(item, str):
                f = gazetteer(item)
                names.append(f.name)
                weights.append(1.0)
                geoms.append(Point(f.lon, f.lat))
            elif isinstance(item, BaseGeometry):
                names.append(f"target-{i}")
                weights.append(1.0)
                geoms.append(item)
            elif isinstance(item, dict):
                if "geometry" in item:
                    geom = item["geometry"]
                elif {"lat", "lon"} <= set(item):
                    la, lo = validate_latlon(item["lat"], item["lon"])
                    geom = Point(lon180(float(lo)), float(la))
                else:
                    raise ValidationError(f"target {item!r} needs lat and lon, or a geometry")
                names.append(str(item.get("name", f"target-{i}")))
                weights.append(float(item.get("weight", 1.0)))
                geoms.append(geom)
            elif isinstance(item, (tuple, list)) and len(item) in (3, 4):
                la, lo = validate_latlon(item[1], item[2])
                names.append(str(item[0]))
                weights.append(float(item[3]) if len(item) == 4 else 1.0)
                geoms.append(Point(lon180(float(lo)), float(la)))
            else:
                raise ValidationError(
                    f"target {item!r} is not a gazetteer name, a (name, lat, lon[, weight]) "
                    "tuple, a mapping or a shapely geometry"
                )
        out = gpd.GeoDataFrame(
            {"name": names, "weight": weights}, geometry=geoms, crs=MARS_GEOGRAPHIC
        )
    w = out["weight"].to_numpy(dtype=np.float64)
    if np.any(~np.isfinite(w)) or np.any(w < 0):
        raise ValidationError(f"target weights {w.tolist()!r} must be finite and ≥ 0")
    return out


def science_value(
    ellipse: LandingEllipse, targets: gpd.GeoDataFrame, reach_km: float
) -> tuple[float, dict[str, float]]:
    """Science value in [0, 1] of ``ellipse`` and each target's factor (see module docstring).

    ``targets`` comes from :func:`make_targets`.
    """
    if len(targets) == 0:
        return 0.0, {}
    poly = ellipse.local_polygon(n=72)

    def to_local(xy: FloatArray) -> FloatArray:
        e, n = local_en(ellipse.lat, ellipse.lon, xy[:, 1], xy[:, 0], validate=False)
        return np.column_stack([e, n])

    total_w = float(targets["weight"].sum())
    score = 0.0
    parts: dict[str, float] = {}
    for name, w, geom in zip(targets["name"], targets["weight"], targets.geometry, strict=True):
        local = shapely.transform(geom, to_local)
        d_km = float(poly.distance(local)) / 1000.0
        if d_km <= 0.0:
            f = 1.0
        else:
            f = max(0.0, 1.0 - d_km / reach_km) if reach_km > 0 else 0.0
        parts[str(name)] = f
        score += float(w) * f
    return (score / total_w if total_w > 0 else 0.0), parts
