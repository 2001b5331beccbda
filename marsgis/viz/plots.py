"""Static maps and plots of planning results (matplotlib), for notebooks, reports and files.

An ipyleaflet map (:func:`marsgis.viz.mars_map`) needs a live kernel; these figures are plain
PNG-able :class:`matplotlib.figure.Figure` objects, so they show in executed notebooks
(papermill, nbconvert) and can be saved with ``fig.savefig(...)``:

* :func:`sites_figure` — ranked landing ellipses over shaded relief (or slope);
* :func:`route_figure` — a planned traverse over slope (or shaded relief), with its
  elevation profile underneath;
* :func:`eligibility_figure` — where an :func:`~marsgis.planning.eligibility_map` passes.

Maps are drawn on a geographic-degree DEM (``IAU_2015:49900``), longitude against latitude
with the aspect ``1 / cos φ`` of the Mars sphere; a DEM in 0–360 °E takes −180–180 °E
geometries (and the reverse) by shifting them a turn.

>>> import marsgis
>>> from marsgis import planning, viz
>>> dem = marsgis.open_dem("gale-mola")
>>> route = planning.plan_traverse(dem, (-4.5895, 137.4417), (-4.8214, 137.3858))
>>> fig = viz.route_figure(dem, route)
>>> [ax.get_ylabel() for ax in fig.axes[::2]]   # the map, its colour bar, the profile
['latitude (°N)', 'elevation (m)']
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from marsgis.exceptions import ValidationError

if TYPE_CHECKING:
    import geopandas as gpd
    import xarray as xr
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["eligibility_figure", "route_figure", "sites_figure"]

Box = tuple[float, float, float, float]
_BACKGROUNDS = ("hillshade", "slope", "elevation")


def _box_of(gdf: gpd.GeoDataFrame, margin_deg: float | None) -> Box:
    west, south, east, north = (float(v) for v in gdf.total_bounds)
    pad = margin_deg if margin_deg is not None else max(0.1, max(east - west, north - south) / 4)
    return west - pad, max(south - pad, -90.0), east + pad, min(north + pad, 90.0)


def _shift_for(dem: xr.DataArray, west: float) -> float:
    """Degrees to add to −180–180 °E longitudes to land on ``dem``'s longitudes."""
    return 360.0 if float(dem["x"].max()) > 180.0 and west < 0 else 0.0


def _background(ax: Axes, fig: Figure, dem: xr.DataArray, box: Box, background: str) -> float:
    """Draw ``background`` of ``dem`` over ``box`` on ``ax``; return the longitude shift."""
    from marsgis import terrain

    if background not in _BACKGROUNDS:
        raise ValidationError(f"background must be one of {_BACKGROUNDS}, got {background!r}")
    west, south, east, north = box
    shift = _shift_for(dem, west)
    window = dem.rio.clip_box(minx=west + shift, miny=south, maxx=east + shift, maxy=north)
    if window.shape[0] < 3 or window.shape[1] < 3:
        raise ValidationError(
            f"the DEM has only {window.shape} cells in the box {box!r}; give a finer DEM or a "
            "larger margin_deg="
        )
    extent = (
        float(window.x.min()),
        float(window.x.max()),
        float(window.y.min()),
        float(window.y.max()),
    )
    shade = np.asarray(terrain.hillshade(window).values, dtype=float)
    if background == "slope":
        values = np.asarray(terrain.slope(window).values, dtype=float)
        image = ax.imshow(values, extent=extent, cmap="magma_r", vmin=0.0, vmax=35.0)
        ax.imshow(shade, extent=extent, cmap="gray", alpha=0.25)
        fig.colorbar(image, ax=ax, label="slope (°)", shrink=0.8)
    elif background == "elevation":
        values = np.asarray(window.values, dtype=float)
        image = ax.imshow(values, extent=extent, cmap="gist_earth")
        ax.imshow(shade, extent=extent, cmap="gray", alpha=0.35)
        fig.colorbar(image, ax=ax, label="elevation (m, MOLA areoid)", shrink=0.8)
    else:
        image = ax.imshow(shade, extent=extent, cmap="gray", vmin=0.0, vmax=255.0)
        fig.colorbar(image, ax=ax, label="shaded relief", shrink=0.8)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    lat_mid = (extent[2] + extent[3]) / 2.0
    ax.set_aspect(1.0 / max(math.cos(math.radians(lat_mid)), 0.05))
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")
    return shift


def _lines(geom: Any) -> list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
    """(x, y) arrays of a (Multi)LineString or the exterior rings of a (Multi)Polygon."""
    parts = list(getattr(geom, "geoms", [geom]))
    out = []
    for part in parts:
        ring = getattr(part, "exterior", part)
        xs, ys = ring.xy
        out.append((np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)))
    return out


def sites_figure(
    dem: xr.DataArray,
    sites: gpd.GeoDataFrame,
    *,
    background: str = "hillshade",
    targets: gpd.GeoDataFrame | None = None,
    margin_deg: float | None = None,
    title: str | None = None,
) -> Figure:
    """Ranked landing ellipses (:func:`~marsgis.planning.search_landing_sites`) on a map.

    Parameters
    ----------
    dem
        Geographic-degree DEM covering the sites (the one they were searched on).
    sites
        The ranked sites: ellipse polygons and ``rank`` / ``score`` columns.
    background
        ``"hillshade"``, ``"slope"`` (degrees) or ``"elevation"``.
    targets
        Science targets to mark (:func:`~marsgis.planning.make_targets`), optional.
    margin_deg
        Map margin around the ellipses (default a quarter of their extent, at least 0.1°).
    title
        Figure title (default: how many sites, and the constraint set).

    Returns
    -------
    matplotlib.figure.Figure
        Ellipses outlined and labelled ``#rank score``; the figure is not shown or closed.
    """
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    if len(sites) == 0:
        raise ValidationError("no sites to draw; search_landing_sites returned an empty table")
    fig = Figure(figsize=(8, 6.5), layout="constrained")
    ax = fig.add_subplot()
    shift = _background(ax, fig, dem, _box_of(sites, margin_deg), background)
    colours = colormaps["viridis"](np.linspace(0.0, 0.9, len(sites)))
    for colour, (_, row) in zip(colours, sites.iterrows(), strict=True):
        rank = int(row["rank"]) if "rank" in row else 0
        for xs, ys in _lines(row.geometry):
            ax.plot(xs + shift, ys, color=colour, lw=2, label=f"#{rank}  score {row['score']:.2f}")
        ax.annotate(
            f"#{rank}", (float(row["lon"]) + shift, float(row["lat"])), color="white",
            ha="center", va="center", fontsize=9, fontweight="bold",
        )  # fmt: skip
    if targets is not None and len(targets):
        for _, target in targets.iterrows():
            x, y = target.geometry.representative_point().coords[0]
            ax.plot(x + shift, y, marker="*", ms=14, color="gold", mec="black")
            ax.annotate(str(target["name"]), (x + shift, y), xytext=(6, 6),
                        textcoords="offset points", fontsize=9)  # fmt: skip
    ax.legend(loc="lower right", fontsize="small")
    name = sites.attrs.get("constraints", "")
    ax.set_title(title if title is not None else f"{len(sites)} best landing sites ({name})")
    return fig


def route_figure(
    dem: xr.DataArray,
    route: gpd.GeoDataFrame,
    *,
    background: str = "slope",
    profile: bool = True,
    margin_deg: float | None = None,
    title: str | None = None,
) -> Figure:
    """A planned traverse (:func:`~marsgis.planning.plan_traverse`) on a map, and its profile.

    Parameters
    ----------
    dem
        Geographic-degree DEM the route was planned on.
    route
        The traverse: one LineString per leg.
    background
        ``"slope"`` (degrees, the default), ``"hillshade"`` or ``"elevation"``.
    profile
        Add the elevation profile along the route underneath
        (:func:`~marsgis.viz.route_profile`, sampled on ``dem``).
    margin_deg
        Map margin around the route (default a quarter of its extent, at least 0.1°).
    title
        Figure title (default: the route's length).

    Returns
    -------
    matplotlib.figure.Figure
        Axes: the map, its colour bar and (with ``profile``) elevation against distance.
    """
    from matplotlib.figure import Figure

    from marsgis.viz.profile import draw_profile, route_profile

    if len(route) == 0:
        raise ValidationError("the route has no legs to draw")
    fig = Figure(figsize=(8, 9.5 if profile else 6.5), layout="constrained")
    if profile:
        grid = fig.add_gridspec(2, 1, height_ratios=(3, 1))
        ax = fig.add_subplot(grid[0])
    else:
        ax = fig.add_subplot()
    shift = _background(ax, fig, dem, _box_of(route, margin_deg), background)
    for i, (_, leg) in enumerate(route.iterrows()):
        for xs, ys in _lines(leg.geometry):
            ax.plot(xs + shift, ys, color="deepskyblue", lw=2.5, label="route" if i == 0 else None)
            ax.plot(xs[-1] + shift, ys[-1], marker="o", ms=7, color="white", mec="black")
        if i == 0:
            xs, ys = _lines(leg.geometry)[0]
            ax.plot(xs[0] + shift, ys[0], marker="*", ms=15, color="gold", mec="black",
                    label="start")  # fmt: skip
    ax.legend(loc="lower right", fontsize="small")
    length_km = float(route.attrs.get("length_m", route["length_m"].sum())) / 1000.0
    ax.set_title(title if title is not None else f"planned traverse, {length_km:.2f} km")
    if profile:
        pax = fig.add_subplot(grid[1])
        draw_profile(pax, route_profile(route, dem=dem), xlabel="distance along the route (km)")
    return fig


def eligibility_figure(
    emap: xr.Dataset,
    *,
    variable: str = "eligible",
    title: str | None = None,
) -> Figure:
    """Where an :func:`~marsgis.planning.eligibility_map` passes, on a longitude/latitude map.

    ``variable`` is ``"eligible"`` (every evaluated constraint) or one constraint's key. The
    title names the constraint set and the constraints that could not be evaluated.
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure

    if variable not in emap:
        raise ValidationError(
            f"the eligibility map has no variable {variable!r}; choose one of {sorted(map(str, emap))}"
        )
    da = emap[variable]
    x = np.asarray(da["x"].values, dtype=float)
    y = np.asarray(da["y"].values, dtype=float)
    dx = abs(float(x[1] - x[0])) if x.size > 1 else 1.0
    dy = abs(float(y[1] - y[0])) if y.size > 1 else 1.0
    extent = (x.min() - dx / 2, x.max() + dx / 2, y.min() - dy / 2, y.max() + dy / 2)
    values = np.asarray(da.values, dtype=float)
    if y[0] < y[-1]:
        values = values[::-1]
    fig = Figure(figsize=(9, 5), layout="constrained")
    ax = fig.add_subplot()
    cmap = ListedColormap(["#d9d9d9", "#1a9850"])
    ax.imshow(values, extent=extent, cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")
    missing = sorted(emap.attrs.get("not_evaluated", {}))
    default = f"{variable} for {emap.attrs.get('constraints', '')} (green)"
    if missing:
        default += f"; not evaluated: {', '.join(missing)}"
    ax.set_title(title if title is not None else default, fontsize=10)
    return fig
