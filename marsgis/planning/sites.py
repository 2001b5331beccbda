"""Landing-site search: rank candidate ellipses over a region by a safety/science trade-off.

The search runs in named steps: check the parameters (:func:`_check_search`), cut the DEM
window the ellipses may reach (:func:`_search_region`), compute the per-cell layers once
(:class:`~marsgis.planning.site_grid.SiteGrid`), place candidate centres on a grid over the
region (:func:`_candidate_centres`; spacing: the ellipse's semi-minor axis, or the DEM's cell
size when larger) at one or more azimuths, evaluate each candidate whose ellipse lies wholly
on the DEM as :func:`~marsgis.planning.evaluate_ellipse` does (:func:`_evaluate_candidates`),
and keep the best distinct sites (:func:`_distinct_best`):

* ``safety = 1 − fail_any`` (area fraction of the ellipse failing no evaluated constraint),
* ``science`` ∈ [0, 1] from the targets (see :mod:`marsgis.planning.targets`),
* ``score = (w_safety · safety + w_science · science) / (w_safety + w_science)``.

Candidates are ranked by score; the ranking keeps only ellipses whose centres are at least
``min_separation_km`` apart (by default the semi-major axis), so the top N are distinct sites
rather than one site shifted by a grid step.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from marsgis.crs import MARS_GEOGRAPHIC, MARS_RADIUS_M
from marsgis.exceptions import PlanningError, ValidationError
from marsgis.geo import Grid, great_circle_m, lonlat_of_grid, normalize_lon
from marsgis.planning.constraints import ConstraintSet, load_constraints
from marsgis.planning.eligibility import resolution_if_needed
from marsgis.planning.ellipses import LandingEllipse
from marsgis.planning.site_grid import SiteGrid, mark_infeasible
from marsgis.planning.targets import make_targets, science_value
from marsgis.progress import progress_bar

__all__ = ["DEFAULT_WEIGHTS", "search_landing_sites"]

#: Default trade-off: safety first.
DEFAULT_WEIGHTS: dict[str, float] = {"safety": 0.7, "science": 0.3}

Box = tuple[float, float, float, float]


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


@dataclass(frozen=True)
class _Search:
    """The checked parameters of one search."""

    cs: ConstraintSet
    w_safety: float
    w_science: float
    top: int
    a_km: float
    b_km: float
    azimuths: tuple[float, ...]
    spacing_km: float | None
    min_separation_km: float
    reach_km: float

    def score(self, safety: float, science: float) -> float:
        """The safety/science trade-off of one candidate."""
        ws, wsci = self.w_safety, self.w_science
        return (ws * safety + wsci * science) / (ws + wsci)


def _check_search(
    constraints: Any,
    *,
    weights: Mapping[str, float] | None,
    top: int,
    ellipse_km: tuple[float, float] | None,
    azimuths: tuple[float, ...] | None,
    spacing_km: float | None,
    min_separation_km: float | None,
    reach_km: float,
) -> _Search:
    """Step 1: check the parameters and fill in the defaults from the constraint set."""
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
    return _Search(
        cs, ws, wsci, top, a_km, b_km, az_list,
        None if spacing_km is None else float(spacing_km), min_sep, reach_km,
    )  # fmt: skip


def _search_region(dem: xr.DataArray, bbox: Box | None, a_km: float) -> tuple[xr.DataArray, Box]:
    """Step 2: the DEM window the ellipses may reach, and the box their centres lie in.

    With a ``bbox`` the window is the box padded by the semi-major axis (staying in the box's
    own longitude convention, no wrap through the seam); without one it is the whole DEM.
    """
    if bbox is None:
        lat_edges, lon_edges = _lonlat_extent(dem)
        return dem, (lon_edges[0], lat_edges[0], lon_edges[1], lat_edges[1])
    west, south, east, north = (float(v) for v in bbox)
    pad_deg = math.degrees((a_km * 1000.0) / MARS_RADIUS_M) * 1.05
    lat_mid = math.radians(max(abs(south), abs(north)))
    pad_lon = pad_deg / max(math.cos(lat_mid), 1e-3)
    west_p = max(west - pad_lon, 0.0 if west >= 0.0 else -180.0)
    east_p = min(east + pad_lon, (360.0 if east > 180.0 else 180.0) - 1e-9)
    region = _clip_region(
        dem, (west_p, max(-90.0, south - pad_deg), east_p, min(90.0, north + pad_deg))
    )
    return region, (west, south, east, north)


def _centre_spacing_km(search: _Search, region: xr.DataArray) -> float:
    """Every semi-minor axis, but no closer than one DEM cell (unless ``spacing_km``)."""
    if search.spacing_km is not None:
        return search.spacing_km
    from marsgis import terrain

    return max(search.b_km, float(terrain.cell_size(region).height.max()) / 1000.0)


def _candidate_centres(box: Box, spacing_km: float) -> Iterator[tuple[float, float]]:
    """Step 3: ``(lat, lon)`` of candidate centres on a grid of ``spacing_km`` over ``box``."""
    west, south, east, north = box
    dlat = math.degrees(spacing_km * 1000.0 / MARS_RADIUS_M)
    lats = (
        np.arange(south + dlat / 2.0, north, dlat)
        if north - south > dlat
        else np.array([(south + north) / 2])
    )
    for lat in lats:
        dlon = dlat / max(math.cos(math.radians(lat)), 1e-3)
        lons = (
            np.arange(west + dlon / 2.0, east, dlon)
            if east - west > dlon
            else np.array([(west + east) / 2])
        )
        for lon in lons:
            yield float(lat), float(lon)


def _cell_window(
    grid: Grid, shape: tuple[int, int], lat: float, lon: float, a_km: float
) -> tuple[slice, slice] | None:
    """Rows and columns of the lat/lon box around a circle of radius ``a_km``; None off-grid."""
    half_lat = math.degrees(a_km * 1000.0 / MARS_RADIUS_M) * 1.01
    half_lon = half_lat / max(math.cos(math.radians(abs(lat) + half_lat)), 1e-3)
    fy, fx = grid.locate(
        np.clip([lat - half_lat, lat - half_lat, lat + half_lat, lat + half_lat], -90, 90),
        [lon - half_lon, lon + half_lon, lon - half_lon, lon + half_lon],
    )
    ny, nx = shape
    r_lo, r_hi = math.floor(fy.min()), math.ceil(fy.max())
    c_lo, c_hi = math.floor(fx.min()), math.ceil(fx.max())
    if r_lo < 0 or c_lo < 0 or r_hi > ny - 1 or c_hi > nx - 1:
        return None
    return slice(r_lo, r_hi + 1), slice(c_lo, c_hi + 1)


def _evaluate_candidates(
    search: _Search,
    sites: SiteGrid,
    region: xr.DataArray,
    box: Box,
    targets: gpd.GeoDataFrame,
) -> tuple[list[dict[str, Any]], list[LandingEllipse]]:
    """Step 4: score every candidate ellipse that lies wholly on the region's grid."""
    rows_out: list[dict[str, Any]] = []
    ellipses: list[LandingEllipse] = []
    grid = Grid.of(region)
    shape = sites.lat.shape
    centres = list(_candidate_centres(box, spacing_km=_centre_spacing_km(search, region)))
    total = len(centres) * len(search.azimuths)
    with progress_bar(total=total, desc="landing-site candidates", unit="ellipse") as bar:
        for lat, lon in centres:
            for az in search.azimuths:
                bar.update(1)
                ell = LandingEllipse(lat, lon, search.a_km, search.b_km, az)
                window = _cell_window(grid, (shape[0], shape[1]), lat, lon, search.a_km)
                if window is None:
                    continue
                ev = sites.evaluate(ell, *window)
                if ev["n_cells"] == 0:
                    continue
                sci, _parts = science_value(ell, targets, search.reach_km)
                safety = 1.0 - ev["fail_any"]
                rows_out.append(_candidate_row(ell, ev, search.score(safety, sci), safety, sci))
                ellipses.append(ell)
    return rows_out, ellipses


def _candidate_row(
    ell: LandingEllipse, ev: dict[str, Any], score: float, safety: float, science: float
) -> dict[str, Any]:
    return {
        "lat": ell.lat,
        "lon": ell.lon,
        "azimuth_deg": ell.azimuth_deg,
        "semi_major_km": ell.semi_major_km,
        "semi_minor_km": ell.semi_minor_km,
        "score": score,
        "safety": safety,
        "science": science,
        **{k: v for k, v in ev.items() if k.startswith("fail_")},
        "elevation_mean_m": ev["elevation_mean_m"],
        "relief_m": ev["relief_m"],
        "slope_mean_deg": ev["slope_mean_deg"],
        "slope_p95_deg": ev["slope_p95_deg"],
        "slope_max_deg": ev["slope_max_deg"],
        "n_cells": ev["n_cells"],
    }


def _distinct_best(df: pd.DataFrame, top: int, min_separation_km: float) -> list[int]:
    """Step 5: the best ``top`` candidates (score, then safety), centres ``min_separation_km`` apart."""
    order = np.lexsort((-df["safety"].to_numpy(), -df["score"].to_numpy()))
    chosen: list[int] = []
    lat_all = df["lat"].to_numpy(dtype=np.float64)
    lon_all = df["lon"].to_numpy(dtype=np.float64)
    for i in order:
        if len(chosen) >= top:
            break
        if chosen:
            d = great_circle_m(lat_all[chosen], lon_all[chosen], lat_all[i], lon_all[i])
            if np.min(d) < min_separation_km * 1000.0:
                continue
        chosen.append(int(i))
    return chosen


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
        One row per site, best first: ``rank, lat, lon`` (centre; lon in −180–180 °E),
        ``azimuth_deg, semi_major_km,
        semi_minor_km, score, safety, science, fail_any, fail_<constraint>…,
        elevation_mean_m, relief_m, slope_mean_deg, slope_p95_deg, slope_max_deg, n_cells``
        and the ellipse polygon; ``attrs`` holds ``constraints``, ``weights``,
        ``not_evaluated`` and ``candidates`` (how many were evaluated).

    Raises
    ------
    PlanningError
        No candidate ellipse fits on the DEM inside the region.
    """
    search = _check_search(
        constraints, weights=weights, top=top, ellipse_km=ellipse_km, azimuths=azimuths,
        spacing_km=spacing_km, min_separation_km=min_separation_km, reach_km=reach_km,
    )  # fmt: skip
    cs = search.cs
    res = resolution_if_needed(dem, cs)
    region, box = _search_region(dem, bbox, search.a_km)
    sites = SiteGrid.build(
        region, cs, None if rocks is None else rocks.sel(y=region["y"], x=region["x"]), res
    )
    mark_infeasible(sites, dem, cs, res)
    tg = make_targets(targets)
    rows, ellipses = _evaluate_candidates(search, sites, region, box, tg)
    if not rows:
        a_km, b_km = search.a_km, search.b_km
        raise PlanningError(
            f"no {2 * a_km:g} × {2 * b_km:g} km ellipse fits on DEM {dem.name!r} inside the "
            f"region {box!r}; widen the region or use a larger DEM"
        )
    df = pd.DataFrame(rows)
    chosen = _distinct_best(df, search.top, search.min_separation_km)
    out = df.iloc[chosen].reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    gdf = gpd.GeoDataFrame(
        out, geometry=[ellipses[i].polygon() for i in chosen], crs=MARS_GEOGRAPHIC
    )
    gdf.attrs = {
        "constraints": cs.name,
        "weights": {"safety": search.w_safety, "science": search.w_science},
        "not_evaluated": dict(sites.not_evaluated),
        "candidates": len(rows),
        "targets": list(tg["name"]),
        "slope_baseline_m": sites.slope_baseline_m,
    }
    return gdf


def _clip_region(dem: xr.DataArray, bbox: tuple[float, float, float, float]) -> xr.DataArray:
    """Window of ``dem`` over ``bbox``; a global grid is re-centred when the box spans its seam."""
    from marsgis.io.raster import clip_lonlat

    west, _, east, _ = bbox
    is_global = Grid.of(dem).is_global
    xs = np.asarray(dem["x"].values)
    if is_global and west < 0.0 <= xs.min():  # 0–360 grid, box given across 0°E
        dem = _recentre(dem, -180.0)
    elif is_global and east > 180.0 and xs.min() < 0.0:  # −180–180 grid, box across 180°E
        dem = _recentre(dem, 0.0)
    return clip_lonlat(dem, bbox)


def _recentre(dem: xr.DataArray, start: float) -> xr.DataArray:
    """A global lon/lat grid rolled to start at longitude ``start`` (−180 or 0)."""
    xs = np.asarray(dem["x"].values, dtype=np.float64)
    new_x = normalize_lon(xs, center=start + 180.0)
    order = np.argsort(new_x, kind="stable")
    out = dem.isel(x=order).assign_coords(x=new_x[order])
    out["x"].attrs.update(dem["x"].attrs)
    return out.rio.write_crs(dem.rio.crs)


def _lonlat_extent(dem: xr.DataArray) -> tuple[tuple[float, float], tuple[float, float]]:
    lat, lon = lonlat_of_grid(dem)
    return (float(lat.min()), float(lat.max())), (float(lon.min()), float(lon.max()))
