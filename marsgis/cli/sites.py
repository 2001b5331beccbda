"""``marsgis sites check|map|search``: landing-site constraints at a point, over a DEM, ranked.

Examples
--------
::

    marsgis sites check --preset msl --lat -4.5895 --lon 137.4417 --dem gale-mola --json
    marsgis sites map --preset mer-a --dem mola -o mer-a.tif --json
    marsgis sites search --preset msl --bbox 136.5,-6,138.5,-4 --target "Aeolis Mons" --top 5

``--preset`` takes a preset name (``mer-a``, ``mer-b``, ``phoenix``, ``msl``, ``insight``,
``mars2020``) or a YAML file of constraints. This module also holds ``mission_plan``, the
``marsgis mission plan`` command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from marsgis.cli._common import emit, feature_records, handle_errors, json_option
from marsgis.exceptions import ValidationError

__all__ = ["command", "mission_plan"]


def _dem(name: str | None, default: str) -> Any:
    from marsgis.io import open_dem

    return open_dem(name or default)


def parse_latlon(text: str, what: str) -> tuple[float, float]:
    """``"LAT,LON"`` → floats, with an error naming the option."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        if len(parts) != 2:
            raise ValueError
        return float(parts[0]), float(parts[1])
    except ValueError:
        raise ValidationError(
            f"{what} {text!r} must be LAT,LON in degrees, e.g. -4.5895,137.4417"
        ) from None


def _check_text(result: dict[str, Any]) -> str:
    lines = [
        f"{result['constraints']} at lat {result['lat']:.4f}, lon {result['lon']:.4f} on {result['dem']}:",
    ]
    for c in result["checks"]:
        value = "—" if c["value"] is None else f"{c['value']:.4g} {c['units']}"
        lines.append(
            f"  {c['constraint']:<14} {c['status']:<14} value {value:<18} limit {c['limit']}"
        )
        if c["note"]:
            lines.append(f"      {c['note']}")
    lines.append(f"verdict: {result['verdict']}")
    return "\n".join(lines)


@click.group(name="sites")
def command() -> None:
    """Landing sites: check constraints at a point, map eligibility, search ellipses."""


@command.command(name="check")
@click.option("--preset", required=True, help="Constraint preset name or YAML file.")
@click.option("--lat", type=float, required=True, help="Planetocentric latitude, degrees.")
@click.option("--lon", type=float, required=True, help="East longitude, 0–360 or −180–180.")
@click.option("--dem", "dem_name", default=None, help="DEM name or path (default: mola).")
@json_option
@handle_errors
def check_cmd(preset: str, lat: float, lon: float, dem_name: str | None, as_json: bool) -> None:
    """Check each constraint at LAT, LON: value, limit, pass/fail/not evaluated."""
    from marsgis.planning import check_site

    result = check_site(lat, lon, preset, _dem(dem_name, "mola")).to_dict()
    emit(result, as_json, _check_text)


@command.command(name="map")
@click.option("--preset", required=True, help="Constraint preset name or YAML file.")
@click.option("--dem", "dem_name", required=True, help="DEM name or path.")
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
    help="Output GeoTIFF: band 1 eligible (1/0), then one band per evaluated constraint.",
)  # fmt: skip
@json_option
@handle_errors
def map_cmd(preset: str, dem_name: str, output: Path, as_json: bool) -> None:
    """Write the eligibility map of a DEM and print the eligible area on the Mars sphere."""
    from marsgis.planning import eligibility_map, eligible_area

    emap = eligibility_map(_dem(dem_name, "mola"), preset)
    bands = ["eligible", *emap.attrs["evaluated"]]
    import numpy as np
    import xarray as xr

    stack = xr.concat([emap[b].astype(np.uint8) for b in bands], dim="band").assign_coords(
        band=np.arange(1, len(bands) + 1)
    )
    stack = stack.rio.write_crs(emap.rio.crs)
    stack.attrs = {"long_name": bands}
    from marsgis.io.atomic import atomic_path, check_geotiff

    with atomic_path(output, check=check_geotiff) as tmp:
        stack.rio.to_raster(tmp, dtype="uint8", compress="deflate")
    area = eligible_area(emap)
    emit(
        {"output": output, "constraints": emap.attrs["constraints"], "bands": bands, **area},
        as_json,
    )


def _weights(text: str | None) -> dict[str, float] | None:
    if text is None:
        return None
    out: dict[str, float] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        try:
            if not sep:
                raise ValueError
            out[key.strip()] = float(value)
        except ValueError:
            raise ValidationError(
                f"--weights {text!r} must look like safety=0.7,science=0.3"
            ) from None
    return out


def _search_text(rows: list[dict[str, Any]]) -> str:
    lines = ["rank  lat       lon       score  safety science relief_m slope_p95"]
    for r in rows:
        lines.append(
            f"{r['rank']:>4}  {r['lat']:8.4f}  {r['lon']:8.4f}  {r['score']:.3f}  {r['safety']:.3f}  "
            f"{r['science']:.3f}  {r['relief_m']:8.0f} {r['slope_p95_deg']:6.2f}"
        )
    return "\n".join(lines)


@command.command(name="search")
@click.option("--preset", required=True, help="Constraint preset name or YAML file.")
@click.option("--bbox", required=True, help="W,S,E,N in degrees °E: where ellipse centres may lie.")
@click.option(
    "--target", "targets", multiple=True, help="Gazetteer feature as science target (repeatable)."
)
@click.option("--top", type=int, default=10, show_default=True, help="How many sites.")
@click.option(
    "--dem",
    "dem_name",
    default=None,
    help="DEM name or path (default: the finest shipped DEM covering BBOX).",
)
@click.option(
    "--weights", default=None, help="safety=W1,science=W2 (default safety=0.7,science=0.3)."
)
@click.option(
    "--azimuth", "azimuths", type=float, multiple=True, help="Ellipse azimuth(s) to try, degrees."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the ellipses as GeoJSON (.geojson) or GeoPackage (.gpkg).",
)
@json_option
@handle_errors
def search_cmd(
    *,
    preset: str,
    bbox: str,
    targets: tuple[str, ...],
    top: int,
    dem_name: str | None,
    weights: str | None,
    azimuths: tuple[float, ...],
    output: Path | None,
    as_json: bool,
) -> None:
    """Rank landing ellipses inside BBOX by safety and science."""
    from marsgis.catalog import finest_dem
    from marsgis.geo.bbox import parse_bbox
    from marsgis.planning import search_landing_sites

    box = parse_bbox(bbox, what="--bbox")
    w, s, e, n = box
    dem = _dem(dem_name, finest_dem((w, s, e, n)))
    gdf = search_landing_sites(
        dem, preset, bbox=(w, s, e, n), targets=list(targets) or None, weights=_weights(weights),
        top=top, azimuths=azimuths or None,
    )  # fmt: skip
    if output is not None:
        from marsgis.io.vector import write_features

        write_features(gdf, output)
    rows = feature_records(gdf)
    result = {
        "constraints": gdf.attrs["constraints"],
        "dem": str(dem.name),
        "bbox": list(box),
        "targets": gdf.attrs["targets"],
        "weights": gdf.attrs["weights"],
        "candidates": gdf.attrs["candidates"],
        "not_evaluated": gdf.attrs["not_evaluated"],
        "sites": rows,
    }
    if output is not None:
        result["output"] = output
    emit(result, as_json, lambda r: _search_text(r["sites"]))


@click.command(name="plan")
@click.option("--name", required=True, help="Mission name.")
@click.option("--lat", type=float, required=True, help="Target (landing point) latitude, degrees.")
@click.option("--lon", type=float, required=True, help="Target longitude, degrees east.")
@click.option(
    "--preset", default=None, help="Landing constraints (preset or YAML): evaluates the ellipse."
)
@click.option("--dem", "dem_name", default="gale-mola", show_default=True, help="DEM name or path.")
@click.option(
    "--date", "when", default=None, help="Date (ISO 8601 UTC) of landing/drive, for the risk."
)
@click.option(
    "--waypoint", "waypoints", multiple=True, help="LAT,LON to drive to, in order (repeatable)."
)
@click.option(
    "--target", "targets", multiple=True, help="Gazetteer feature as science target (repeatable)."
)
@click.option(
    "--max-slope", type=float, default=None, help="Traverse slope limit, degrees (default 25)."
)
@click.option("--objective", "objectives", multiple=True, help="An objective (repeatable).")
@click.option("--description", default="", help="Free text.")
@click.option(
    "--save/--no-save", default=True, show_default=True, help="Store the plan in the database."
)
@json_option
@handle_errors
def mission_plan(
    *,
    name: str,
    lat: float,
    lon: float,
    preset: str | None,
    dem_name: str,
    when: str | None,
    waypoints: tuple[str, ...],
    targets: tuple[str, ...],
    max_slope: float | None,
    objectives: tuple[str, ...],
    description: str,
    save: bool,
    as_json: bool,
) -> None:
    """Plan a mission: landing ellipse, traverse, risk and tasks; store it as a mission."""
    from marsgis.planning import plan_mission

    plan = plan_mission(
        name, lat=lat, lon=lon, dem=_dem(dem_name, "gale-mola"), constraints=preset, when=when,
        waypoints=[parse_latlon(w, "--waypoint") for w in waypoints], targets=list(targets) or None,
        max_slope=max_slope, description=description, objectives=objectives,
    )  # fmt: skip
    result = plan.summary()
    if save:
        from marsgis.db import save_plan

        stored = save_plan(plan)
        result["mission_id"] = stored.mission.id
        result["status"] = stored.mission.status
        result["task_ids"] = [t.id for t in stored.tasks]
        result["artefact_ids"] = [a.id for a in stored.artefacts]
    emit(result, as_json)
