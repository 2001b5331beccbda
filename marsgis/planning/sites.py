"""Landing-site search: rank candidate ellipses over a region by a safety/science trade-off.

This is the design's ``landing_site_optimizer``. Candidate ellipse centres sit on a grid
over the region (spacing: the ellipse's semi-minor axis, or the DEM's cell size when larger), at one or more
azimuths; each candidate whose ellipse lies wholly on the DEM is evaluated as
:func:`~marsgis.planning.evaluate_ellipse` does, from per-cell layers computed once:

* ``safety = 1 − fail_any`` (area fraction of the ellipse failing no evaluated constraint),
* ``science`` ∈ [0, 1] from the targets (see :mod:`marsgis.planning.ellipses`),
* ``score = (w_safety · safety + w_science · science) / (w_safety + w_science)``.

Candidates are ranked by score; the ranking keeps only ellipses whose centres are at least
``min_separation_km`` apart (by default the semi-major axis), so the top N are distinct sites
rather than one site shifted by a grid step.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from marsgis.crs import MARS_GEOGRAPHIC, MARS_RADIUS_M
from marsgis.exceptions import PlanningError, ValidationError
from marsgis.planning.constraints import load_constraints
from marsgis.planning.ellipses import (
    LandingEllipse,
    _blocks,
    _mark_infeasible,
    _science,
    _SiteGrid,
    make_targets,
)
from marsgis.planning.geometry import GridLocator, great_circle_m

__all__ = ["DEFAULT_WEIGHTS", "landing_site_optimizer", "search_landing_sites"]

#: Default trade-off: safety first.
DEFAULT_WEIGHTS: dict[str, float] = {"safety": 0.7, "science": 0.3}


def _weights(weights: Mapping[str, float] | None) -> tuple[float, float]:
    w = dict(DEFAULT_WEIGHTS if weights is None else weights)
    unknown = sorted(set(w) - {"safety", "science"})
    if unknown:
        raise ValidationError(f"unknown weight(s) {unknown}; give 'safety' and/or 'science'")
    ws = float(w.get("safety", 0.0))
    wsci = float(w.get("science", 0.0))
    if not (math.isfinite(ws) and math.isfinite(wsci)) or ws < 0 or wsci < 0 or ws + wsci <= 0:
        raise ValidationError(f"weights {weights!r} must be ≥ 0 and not both 0")
    return ws, wsci


def search_landing_sites(
    dem: xr.DataArray,
    constraints: Any,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    targets: Any = None,
    weights: Mapping[str, float] | None = None,
    top: int = 10,
    ellipse_km: tuple[float, float] | None = None,
    azimuths: tuple[float, ...] | None = None,
    spacing_km: float | None = None,
    min_separation_km: float | None = None,
    reach_km: float = 20.0,
    rocks: xr.DataArray | None = None,
) -> gpd.GeoDataFrame:
    """Rank candidate landing ellipses over a region.

    Parameters
    ----------
    dem
        DEM covering the region (a window is read when ``bbox`` is given).
    constraints
        Constraint set or preset name; its ellipse size is used unless ``ellipse_km``.
    bbox
        ``(west, south, east, north)`` in degrees °E: where ellipse centres may lie.
        Default: the whole DEM.
    targets
        Science targets (gazetteer names, points, polygons; see
        :func:`~marsgis.planning.make_targets`).
    weights
        ``{"safety": w1, "science": w2}``; default :data:`DEFAULT_WEIGHTS`.
    top
        How many sites to return.
    ellipse_km
        Full ellipse axes ``(major, minor)`` in km, overriding the constraint set's.
    azimuths
        Major-axis azimuths to try (degrees); default the set's azimuth.
    spacing_km
        Spacing of candidate centres; default the semi-minor axis, or the DEM's cell height
        when that is larger.
    min_separation_km
        Minimum distance between the centres of two returned sites; default the semi-major
        axis.
    reach_km
        Go-to reach for targets outside an ellipse.
    rocks
        Optional rock-abundance raster on the DEM's grid.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per site, best first: ``rank, lat, lon, azimuth_deg, semi_major_km,
        semi_minor_km, score, safety, science, fail_any, fail_<constraint>…,
        elevation_mean_m, relief_m, slope_mean_deg, slope_p95_deg, slope_max_deg, n_cells``
        and the ellipse polygon; ``attrs`` holds ``constraints``, ``weights``,
        ``not_evaluated`` and ``candidates`` (how many were evaluated).

    Raises
    ------
    PlanningError
        No candidate ellipse fits on the DEM inside the region.
    """
    cs = load_constraints(constraints)
    ws, wsci = _weights(weights)
    if not isinstance(top, int) or top < 1:
        raise ValidationError(f"top must be a positive integer, got {top!r}")
    size = ellipse_km if ellipse_km is not None else cs.ellipse_km
    if size is None:
        raise ValidationError(
            f"constraint set {cs.name!r} has no ellipse size; pass ellipse_km=(major, minor)"
        )
    a_km, b_km = float(size[0]) / 2.0, float(size[1]) / 2.0
    if not (a_km >= b_km > 0):
        raise ValidationError(f"ellipse_km {size!r} must be (major, minor) with major ≥ minor > 0")
    az_list = tuple(float(a) for a in (azimuths or (cs.ellipse_azimuth_deg,)))
    if spacing_km is not None and not float(spacing_km) > 0:
        raise ValidationError(f"spacing_km must be > 0, got {spacing_km!r}")
    min_sep = float(min_separation_km) if min_separation_km is not None else a_km

    from marsgis.planning.eligibility import _resolution_if_needed

    res = _resolution_if_needed(dem, cs)
    if bbox is not None:
        west, south, east, north = (float(v) for v in bbox)
        pad_deg = math.degrees((a_km * 1000.0) / MARS_RADIUS_M) * 1.05
        lat_mid = math.radians(max(abs(south), abs(north)))
        pad_lon = pad_deg / max(math.cos(lat_mid), 1e-3)
        # stay inside the bbox's own longitude convention (no wrap through the seam)
        west_p = max(west - pad_lon, 0.0 if west >= 0.0 else -180.0)
        east_p = min(east + pad_lon, (360.0 if east > 180.0 else 180.0) - 1e-9)
        region = _clip_region(
            dem, (west_p, max(-90.0, south - pad_deg), east_p, min(90.0, north + pad_deg))
        )
    else:
        region = dem
        lat_edges, lon_edges = _lonlat_extent(dem)
        south, north = lat_edges
        west, east = lon_edges
    _kmax, _ = _blocks(dem, cs, res)
    grid = _SiteGrid.build(
        region, cs, None if rocks is None else rocks.sel(y=region["y"], x=region["x"]), res
    )
    _mark_infeasible(grid, dem, cs, res)
    tg = make_targets(targets)

    # candidate centres: every semi-minor axis, but no closer than one DEM cell
    if spacing_km is not None:
        spacing = float(spacing_km)
    else:
        from marsgis import terrain

        spacing = max(b_km, float(terrain.cell_size(region).height.max()) / 1000.0)
    dlat = math.degrees(spacing * 1000.0 / MARS_RADIUS_M)
    lats = (
        np.arange(south + dlat / 2.0, north, dlat)
        if north - south > dlat
        else np.array([(south + north) / 2])
    )
    rows_out: list[dict[str, Any]] = []
    polys = []
    ny, nx = grid.lat.shape
    locate = GridLocator(region)

    for lat in lats:
        dlon = dlat / max(math.cos(math.radians(lat)), 1e-3)
        lons = (
            np.arange(west + dlon / 2.0, east, dlon)
            if east - west > dlon
            else np.array([(west + east) / 2])
        )
        for lon in lons:
            for az in az_list:
                ell = LandingEllipse(float(lat), float(lon), a_km, b_km, az)
                # lat/lon box around the ellipse's circumscribed circle of radius a
                half_lat = math.degrees(a_km * 1000.0 / MARS_RADIUS_M) * 1.01
                half_lon = half_lat / max(math.cos(math.radians(abs(lat) + half_lat)), 1e-3)
                fy, fx = locate(
                    np.clip(
                        [lat - half_lat, lat - half_lat, lat + half_lat, lat + half_lat], -90, 90
                    ),
                    [lon - half_lon, lon + half_lon, lon - half_lon, lon + half_lon],
                )
                r_lo, r_hi = math.floor(fy.min()), math.ceil(fy.max())
                c_lo, c_hi = math.floor(fx.min()), math.ceil(fx.max())
                if r_lo < 0 or c_lo < 0 or r_hi > ny - 1 or c_hi > nx - 1:
                    continue
                ev = grid.evaluate(ell, slice(r_lo, r_hi + 1), slice(c_lo, c_hi + 1))
                if ev["n_cells"] == 0:
                    continue
                sci, _parts = _science(ell, tg, reach_km)
                safety = 1.0 - ev["fail_any"]
                score = (ws * safety + wsci * sci) / (ws + wsci)
                rows_out.append(
                    {
                        "lat": float(lat),
                        "lon": float(lon) % 360.0,
                        "azimuth_deg": az,
                        "semi_major_km": a_km,
                        "semi_minor_km": b_km,
                        "score": score,
                        "safety": safety,
                        "science": sci,
                        **{k: v for k, v in ev.items() if k.startswith("fail_")},
                        "elevation_mean_m": ev["elevation_mean_m"],
                        "relief_m": ev["relief_m"],
                        "slope_mean_deg": ev["slope_mean_deg"],
                        "slope_p95_deg": ev["slope_p95_deg"],
                        "slope_max_deg": ev["slope_max_deg"],
                        "n_cells": ev["n_cells"],
                    }
                )
                polys.append(ell)
    if not rows_out:
        raise PlanningError(
            f"no {2 * a_km:g} × {2 * b_km:g} km ellipse fits on DEM {dem.name!r} inside the "
            f"region {(west, south, east, north)!r}; widen the region or use a larger DEM"
        )
    df = pd.DataFrame(rows_out)
    order = np.lexsort((-df["safety"].to_numpy(), -df["score"].to_numpy()))
    chosen: list[int] = []
    lat_all = df["lat"].to_numpy(dtype=np.float64)
    lon_all = df["lon"].to_numpy(dtype=np.float64)
    for i in order:
        if len(chosen) >= top:
            break
        if chosen:
            d = great_circle_m(lat_all[chosen], lon_all[chosen], lat_all[i], lon_all[i])
            if np.min(d) < min_sep * 1000.0:
                continue
        chosen.append(int(i))
    out = df.iloc[chosen].reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    gdf = gpd.GeoDataFrame(out, geometry=[polys[i].polygon() for i in chosen], crs=MARS_GEOGRAPHIC)
    gdf.attrs = {
        "constraints": cs.name,
        "weights": {"safety": ws, "science": wsci},
        "not_evaluated": dict(grid.not_evaluated),
        "candidates": len(rows_out),
        "targets": list(tg["name"]),
        "slope_baseline_m": grid.slope_baseline_m,
    }
    return gdf


def _clip_region(dem: xr.DataArray, bbox: tuple[float, float, float, float]) -> xr.DataArray:
    """Window of ``dem`` over ``bbox``; a global grid is re-centred when the box spans its seam."""
    from marsgis.io.raster import clip_lonlat
    from marsgis.sampling import grid_geometry

    west, _, east, _ = bbox
    *_, is_global = grid_geometry(dem)
    xs = np.asarray(dem["x"].values)
    if is_global and west < 0.0 <= xs.min():  # 0–360 grid, box given across 0°E
        dem = _recentre(dem, -180.0)
    elif is_global and east > 180.0 and xs.min() < 0.0:  # −180–180 grid, box across 180°E
        dem = _recentre(dem, 0.0)
    return clip_lonlat(dem, bbox)


def _recentre(dem: xr.DataArray, start: float) -> xr.DataArray:
    """A global lon/lat grid rolled to start at longitude ``start`` (−180 or 0)."""
    xs = np.asarray(dem["x"].values, dtype=np.float64)
    new_x = (xs - start) % 360.0 + start
    order = np.argsort(new_x, kind="stable")
    out = dem.isel(x=order).assign_coords(x=new_x[order])
    out["x"].attrs.update(dem["x"].attrs)
    return out.rio.write_crs(dem.rio.crs)


def _lonlat_extent(dem: xr.DataArray) -> tuple[tuple[float, float], tuple[float, float]]:
    from marsgis.planning.geometry import lonlat_of_grid

    lat, lon = lonlat_of_grid(dem)
    return (float(lat.min()), float(lat.max())), (float(lon.min()), float(lon.max()))


#: The name the MARS-GIS design gives this search.
landing_site_optimizer = search_landing_sites
