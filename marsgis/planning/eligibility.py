"""Per-cell landing eligibility of a DEM against a constraint set, and its area on Mars.

For every constraint of a :class:`~marsgis.planning.constraints.ConstraintSet` a cell passes
or fails; ``eligible`` is the AND of the constraints that could be evaluated. A constraint
whose length scale the DEM cannot resolve is never passed silently: it is left out of the
map and reported in ``attrs["not_evaluated"]`` with the reason ("not evaluated at this
resolution"), and every summary carries that list.

How each constraint is evaluated
--------------------------------
latitude
    Planetocentric latitude of the cell centre inside ``[south, north]`` (inclusive).
elevation
    DEM value ``≤`` (or ``<``) the limit. Nodata cells fail.
slope over a baseline B
    Evaluated when the DEM's coarsest cell side ``c`` (largest north–south height or
    east–west width, in true metres) is at most B. The DEM is averaged in blocks of
    ``k = floor(B / c)`` cells so that the Horn slope (:func:`marsgis.terrain.slope`) is taken
    on cells of about B, and each cell gets the slope of its block. Cells whose slope is
    unknown (grid edge, nodata, the incomplete last block) fail: unknown is not safe.
rocks
    Needs a rock-abundance raster (fraction of area covered by rocks, same grid): the cell
    passes when it is below the limit. Without one it is not evaluated.

Dask-backed DEMs give dask-backed maps: nothing is computed until asked for (the
global 4 px/deg MOLA map takes a few milliseconds in memory).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
from pyproj import CRS

from marsgis.crs import require_mars_crs, validate_latlon
from marsgis.exceptions import CoordinateError, ValidationError
from marsgis.geo import Grid, cell_area_m2, lon180, lonlat_of_grid
from marsgis.planning.constraints import ConstraintSet, SlopeLimit, load_constraints
from marsgis.progress import progress_iter

__all__ = [
    "ConstraintCheck",
    "SiteCheck",
    "check_site",
    "constraint_passes",
    "constraint_values",
    "dem_resolution_m",
    "eligibility_map",
    "eligible_area",
    "resolution_if_needed",
    "slope_block_cells",
]

NOT_EVALUATED = "not evaluated at this resolution"


def dem_resolution_m(dem: xr.DataArray) -> float:
    """The DEM's coarsest cell side in true metres (max of cell heights and widths)."""
    from marsgis import terrain

    size = terrain.cell_size(dem)
    return float(max(float(size.height.max()), float(size.width.max())))


def _latitudes(dem: xr.DataArray) -> xr.DataArray:
    crs = CRS.from_user_input(require_mars_crs(dem.rio.crs, what=f"DEM {dem.name!r}"))
    if crs.is_geographic:
        return dem["y"].astype(np.float64).reset_coords(drop=True)
    lat2, _ = lonlat_of_grid(dem)
    return xr.DataArray(lat2, dims=("y", "x"), coords={"y": dem["y"], "x": dem["x"]})


def slope_block_cells(shape: tuple[int, ...], res_m: float, limit: SlopeLimit) -> tuple[int, str]:
    """Block size (cells) that measures slope over ``limit.baseline_m``; 0 and why if none."""
    base = limit.baseline_m
    if res_m > base * (1.0 + 1e-9):
        return 0, (
            f"{NOT_EVALUATED}: the DEM's cells are {res_m:.4g} m, coarser than the "
            f"{base:g} m baseline; use a DEM with cells of {base:g} m or finer"
        )
    k = max(1, math.floor(base / res_m + 1e-9))
    ny, nx = shape
    if ny // k < 3 or nx // k < 3:
        return 0, (
            f"{NOT_EVALUATED}: the DEM ({ny}×{nx} cells of {res_m:.4g} m) is smaller than 3×3 "
            f"blocks of the {base:g} m baseline; use a larger DEM"
        )
    return k, ""


def _slope_at_baseline(dem: xr.DataArray, limit: SlopeLimit, k: int) -> xr.DataArray:
    """Slope (degrees) of every cell over blocks of ``k`` cells (the constraint's baseline)."""
    from marsgis import terrain

    if k == 1:
        out = terrain.slope(dem, name=limit.key)
        out.attrs.update(baseline_m=limit.baseline_m, block_cells=1)
        return out
    ny, nx = dem.shape
    coarse = dem.coarsen(y=k, x=k, boundary="trim").mean()
    coarse = coarse.rio.write_crs(dem.rio.crs)
    s = terrain.slope(coarse, name=limit.key)
    ncy, ncx = s.shape
    # each cell takes its block's slope; the cells of the trimmed last block stay unknown (NaN)
    data = s.data
    if hasattr(data, "dask"):
        import dask.array as dsa

        up = dsa.repeat(dsa.repeat(data, k, axis=0), k, axis=1)
        up = dsa.pad(up, ((0, ny - ncy * k), (0, nx - ncx * k)), constant_values=np.nan)
    else:
        up = np.repeat(np.repeat(np.asarray(data), k, axis=0), k, axis=1)
        up = np.pad(up, ((0, ny - ncy * k), (0, nx - ncx * k)), constant_values=np.nan)
    fine = xr.DataArray(up, dims=("y", "x"), coords={"y": dem["y"], "x": dem["x"]})
    if dem.rio.crs is not None:
        fine = fine.rio.write_crs(dem.rio.crs)
    fine.attrs = {"units": "degrees", "baseline_m": limit.baseline_m, "block_cells": k}
    return fine.rename(limit.key)


def resolution_if_needed(dem: xr.DataArray, cs: ConstraintSet) -> float:
    """:func:`dem_resolution_m` when ``cs`` has slope limits (which need it), else NaN."""
    return dem_resolution_m(dem) if cs.slopes else math.nan


def constraint_values(
    dem: xr.DataArray,
    constraints: Any,
    *,
    rocks: xr.DataArray | None = None,
    res_m: float | None = None,
) -> tuple[dict[str, xr.DataArray], dict[str, str]]:
    """The value each constraint tests, per cell, and the constraints that cannot be evaluated.

    Returns
    -------
    (values, not_evaluated)
        ``values``: constraint key → DataArray (latitude in degrees, elevation in metres,
        slope in degrees at the constraint's baseline, rock fraction); ``not_evaluated``:
        key → reason. ``res_m`` overrides the resolution used to decide which slope
        baselines can be evaluated (by default the DEM's coarsest cell side).
    """
    values: dict[str, xr.DataArray] = {}
    missing: dict[str, str] = {}
    for key, value in _each_constraint(dem, load_constraints(constraints), rocks, res_m):
        if isinstance(value, str):
            missing[key] = value
        else:
            values[key] = value
    return values, missing


def _each_constraint(
    dem: xr.DataArray, cs: ConstraintSet, rocks: xr.DataArray | None, res_m: float | None
) -> Iterator[tuple[str, xr.DataArray | str]]:
    """``(key, value)`` per constraint of ``cs``, in report order (:attr:`ConstraintSet.keys`).

    The value is the reason text when the constraint cannot be evaluated; each item is one
    step of :func:`constraint_values` and of :func:`eligibility_map`'s progress.
    """
    if dem.dims != ("y", "x"):
        raise ValidationError(
            f"expected a DEM with dims ('y', 'x'), got {dem.dims!r}; open it with marsgis.open_dem"
        )
    if cs.max_rock_fraction is not None and rocks is not None and rocks.shape != dem.shape:
        raise ValidationError(
            f"rocks raster has shape {rocks.shape!r}, the DEM {dem.shape!r}; put it on the DEM's grid"
        )
    if cs.latitude is not None:
        yield "latitude", _latitudes(dem)
    if cs.max_elevation_m is not None:
        yield "elevation", dem
    res = resolution_if_needed(dem, cs) if res_m is None else res_m
    for limit in cs.slopes:
        k, why = slope_block_cells(dem.shape, res, limit)
        yield limit.key, (why if k == 0 else _slope_at_baseline(dem, limit, k))
    if cs.max_rock_fraction is not None:
        if rocks is None:
            yield (
                "rocks",
                (
                    "not evaluated: no rock-abundance raster given (pass rocks=, the fraction of "
                    "area covered by rocks on the DEM's grid)"
                ),
            )
        else:
            yield "rocks", rocks


def constraint_passes(cs: ConstraintSet, key: str, value: xr.DataArray) -> xr.DataArray:
    """Where ``value`` (from :func:`constraint_values`) passes constraint ``key`` of ``cs``."""
    if key == "latitude":
        assert cs.latitude is not None
        south, north = cs.latitude
        return (value >= south) & (value <= north)
    if key == "elevation":
        assert cs.max_elevation_m is not None
        lim = cs.max_elevation_m
        return value < lim if cs.elevation_strict else value <= lim
    if key == "rocks":
        assert cs.max_rock_fraction is not None
        return value < cs.max_rock_fraction
    for s in cs.slopes:
        if s.key == key:
            return value < s.max_deg
    raise ValidationError(f"constraint set {cs.name!r} has no constraint {key!r}")


def eligibility_map(
    dem: xr.DataArray,
    constraints: Any,
    *,
    rocks: xr.DataArray | None = None,
) -> xr.Dataset:
    """Per-cell pass/fail of every constraint, and their combination, over a DEM.

    Parameters
    ----------
    dem
        Elevations in metres (numpy or dask backed), dims ``("y", "x")``, Mars CRS.
    constraints
        A :class:`ConstraintSet`, a preset name (``"mer-a"``), a mapping or YAML
        (see :func:`~marsgis.planning.load_constraints`).
    rocks
        Optional rock-abundance fraction on the DEM's grid.

    Returns
    -------
    xarray.Dataset
        One boolean variable per evaluated constraint (True = passes) and ``eligible``
        (every evaluated constraint passes and the DEM has a value). ``attrs``:
        ``constraints`` (name), ``evaluated`` (keys), ``not_evaluated`` (key → reason) and
        ``limits`` (key → limit text). Lazy when ``dem`` is dask-backed.

    Examples
    --------
    >>> import marsgis
    >>> from marsgis.planning import eligibility_map, eligible_area
    >>> emap = eligibility_map(marsgis.open_dem("mola"), "mer-a")
    >>> sorted(emap.attrs["not_evaluated"])
    ['rocks', 'slope_1000m', 'slope_100m', 'slope_10m']
    """
    cs = load_constraints(constraints)
    values: dict[str, xr.DataArray] = {}
    missing: dict[str, str] = {}
    data: dict[str, xr.DataArray] = {}
    eligible = dem.notnull()
    steps = _each_constraint(dem, cs, rocks, None)
    desc = f"eligibility ({cs.name})"
    for key, value in progress_iter(steps, desc=desc, unit="constraint", total=len(cs.keys)):
        if isinstance(value, str):
            missing[key] = value
            continue
        values[key] = value
        ok = constraint_passes(cs, key, value)
        ok, _ = xr.broadcast(ok, dem)
        ok = ok.transpose("y", "x")
        ok.attrs = {"limit": cs.limit_text(key)}
        data[key] = ok
        eligible = eligible & ok
    eligible.attrs = {"long_name": f"eligible for {cs.name} (evaluated constraints)"}
    data["eligible"] = eligible
    ds = xr.Dataset(data)
    ds = ds.drop_vars([c for c in ds.coords if c not in ("y", "x", "spatial_ref")])
    ds.attrs = {
        "constraints": cs.name,
        "evaluated": list(values),
        "not_evaluated": dict(missing),
        "limits": {k: cs.limit_text(k) for k in cs.keys},
        "complete": not missing,
    }
    crs = dem.rio.crs
    if crs is not None:
        ds = ds.rio.write_crs(crs)
    return ds


def eligible_area(emap: xr.Dataset, *, variable: str = "eligible") -> dict[str, Any]:
    """Eligible area of a map on the Mars sphere, and its fraction of the map's surface.

    Each cell counts with its true area (:func:`marsgis.geo.cell_area_m2`,
    proportional to ``cos φ`` on geographic grids). The fraction is of the whole grid's area
    (nodata cells included), so on a global grid it is the fraction of the surface of Mars.

    Returns
    -------
    dict
        ``eligible_km2``, ``total_km2``, ``eligible_fraction``, ``pass_fraction`` (key →
        area fraction passing each evaluated constraint), ``not_evaluated`` and ``complete``.
    """
    if variable not in emap:
        raise ValidationError(
            f"{variable!r} is not a layer of this map; layers: {list(emap.data_vars)}"
        )
    template = emap[variable]
    area = cell_area_m2(template)
    total = float(area.sum()) * (template.sizes["x"] if area.ndim == 1 else 1)

    def km2(mask: xr.DataArray) -> float:
        return float((mask * area).sum()) / 1e6

    out_pass = {k: km2(emap[k]) * 1e6 / total for k in emap.attrs.get("evaluated", []) if k in emap}
    eligible_km2 = km2(template)
    return {
        "eligible_km2": eligible_km2,
        "total_km2": total / 1e6,
        "eligible_fraction": eligible_km2 * 1e6 / total,
        "pass_fraction": out_pass,
        "not_evaluated": dict(emap.attrs.get("not_evaluated", {})),
        "complete": bool(emap.attrs.get("complete", False)),
    }


@dataclass(frozen=True)
class ConstraintCheck:
    """One constraint at one site: the value found, the limit and the outcome.

    ``status`` is ``"pass"``, ``"fail"`` or ``"not evaluated"`` (with the reason in ``note``).
    """

    constraint: str
    limit: str
    value: float | None
    units: str
    status: str
    note: str = ""


@dataclass(frozen=True)
class SiteCheck:
    """Every constraint of a set checked at one point.

    ``eligible`` is True when no evaluated constraint fails; ``complete`` says whether every
    constraint could be evaluated; ``verdict`` says both in words.
    """

    lat: float
    lon: float
    constraints: str
    dem: str
    checks: tuple[ConstraintCheck, ...]

    @property
    def eligible(self) -> bool:
        """No evaluated constraint fails."""
        return all(c.status != "fail" for c in self.checks)

    @property
    def complete(self) -> bool:
        """Every constraint was evaluated."""
        return all(c.status != "not evaluated" for c in self.checks)

    @property
    def verdict(self) -> str:
        """``eligible``, ``not eligible`` or ``eligible on N of M constraints (...)``."""
        if not self.eligible:
            failed = [c.constraint for c in self.checks if c.status == "fail"]
            return f"not eligible (fails {', '.join(failed)})"
        if self.complete:
            return "eligible"
        skipped = [c.constraint for c in self.checks if c.status == "not evaluated"]
        done = len(self.checks) - len(skipped)
        return (
            f"eligible on the {done} evaluated constraint(s); not evaluated at this resolution: "
            f"{', '.join(skipped)}"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (used by ``marsgis sites check --json``)."""
        return {
            "lat": self.lat,
            "lon": self.lon,
            "constraints": self.constraints,
            "dem": self.dem,
            "eligible": self.eligible,
            "complete": self.complete,
            "verdict": self.verdict,
            "checks": [c.__dict__.copy() for c in self.checks],
        }


_UNITS = {"latitude": "deg", "elevation": "m", "rocks": "fraction"}


def check_site(
    lat: float,
    lon: float,
    constraints: Any,
    dem: xr.DataArray,
    *,
    rocks: xr.DataArray | None = None,
) -> SiteCheck:
    """Check every constraint at one point, with the value found at the cell holding it.

    The values are those of :func:`eligibility_map` at the cell containing the point,
    computed on a window of the DEM around it (the whole DEM is not needed).

    Raises
    ------
    CoordinateError
        The point is outside the DEM.
    """
    cs = load_constraints(constraints)
    lat_a, lon_a = validate_latlon(lat, lon)
    grid = Grid.of(dem)
    fy, fx = grid.locate(lat_a, lon_a)
    ny, nx = dem.shape
    row, col = round(float(fy)), round(float(fx))
    if grid.is_global:
        col %= nx
    if not (0 <= row < ny and 0 <= col < nx):
        b = tuple(round(float(v), 4) for v in dem.rio.bounds())
        raise CoordinateError(
            f"point lat={float(lat_a)!r}, lon={float(lon_a)!r} lies outside DEM {dem.name!r} "
            f"(bounds {b} in its CRS); choose a DEM that covers it"
        )
    res = resolution_if_needed(dem, cs)
    ks = [k for k in (slope_block_cells(dem.shape, res, s)[0] for s in cs.slopes) if k > 0]
    kmax = max(ks, default=1)
    step = math.lcm(*ks) if ks else 1
    # a window aligned on every block size, reaching one full block beyond the cell's own
    r0 = max(0, ((row - 2 * kmax) // step) * step)
    c0 = max(0, ((col - 2 * kmax) // step) * step)
    r1 = min(ny, row + 2 * kmax + 1)
    c1 = min(nx, col + 2 * kmax + 1)
    window = dem.isel(y=slice(r0, r1), x=slice(c0, c1))
    win_rocks = None if rocks is None else rocks.isel(y=slice(r0, r1), x=slice(c0, c1))
    # which baselines are feasible is decided on the whole DEM, not on the window
    values, missing = constraint_values(window, cs, rocks=win_rocks, res_m=res)
    for limit in cs.slopes:
        k, why = slope_block_cells(dem.shape, res, limit)
        if k == 0:
            missing[limit.key] = why
            values.pop(limit.key, None)
        elif limit.key in missing:  # window too small for the block: widen it (DEM edge)
            missing.pop(limit.key)
            values[limit.key] = _slope_at_baseline(window, limit, k)
    checks: list[ConstraintCheck] = []
    for key in cs.keys:
        limit_text = cs.limit_text(key)
        units = _UNITS.get(key, "deg")
        if key in missing:
            checks.append(
                ConstraintCheck(key, limit_text, None, units, "not evaluated", missing[key])
            )
            continue
        if key not in values:
            checks.append(
                ConstraintCheck(key, limit_text, None, units, "not evaluated", NOT_EVALUATED)
            )
            continue
        v = values[key]
        if key == "latitude":
            val = float(lat_a)
            ok = bool(constraint_passes(cs, key, xr.DataArray(val)))
        else:
            cell = v.isel(y=row - r0, x=col - c0) if v.ndim == 2 else v.isel(y=row - r0)
            val = float(cell)
            ok = bool(constraint_passes(cs, key, xr.DataArray(val))) and math.isfinite(val)
        note = "" if math.isfinite(val) else "no value at this cell (nodata or grid edge)"
        checks.append(
            ConstraintCheck(
                key,
                limit_text,
                val if math.isfinite(val) else None,
                units,
                "pass" if ok else "fail",
                note,
            )
        )
    return SiteCheck(
        lat=float(lat_a),
        lon=lon180(float(lon_a)),
        constraints=cs.name,
        dem=str(dem.name),
        checks=tuple(checks),
    )
