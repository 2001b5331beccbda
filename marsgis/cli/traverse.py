r"""``marsgis traverse``: plan a rover route over a DEM and write it as GeoJSON.

Example
-------
::

    marsgis traverse --dem gale-mola --from -4.5895,137.4417 --to -4.8214,137.3858 \\
        --max-slope 25 -o route.geojson --json

The GeoJSON holds one LineString per leg (lon/lat °E on Mars; read it back with
``marsgis.open_features("route.geojson", crs="IAU_2015:49900")``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from marsgis.cli._common import emit, feature_records, handle_errors, json_option
from marsgis.cli.sites import parse_latlon

__all__ = ["command"]


def _text(result: dict[str, Any]) -> str:
    lines = [
        f"route on {result['dem']} ({result['method']}): {result['length_m']:.0f} m "
        f"(great circle {result['great_circle_m']:.0f} m), cost {result['cost']:.0f}, "
        f"max slope {result['max_slope_deg']:.1f}°, drive {result['drive_time_h']:.1f} h, "
        f"energy {result['energy_wh']:.0f} Wh",
    ]
    for leg in result["legs"]:
        lines.append(
            f"  leg {leg['leg']}: {leg['length_m']:.0f} m, +{leg['elevation_gain_m']:.0f}/-"
            f"{leg['elevation_loss_m']:.0f} m, max slope {leg['max_slope_deg']:.1f}°"
        )
    if result.get("output"):
        lines.append(f"written to {result['output']}")
    return "\n".join(lines)


@click.command(name="traverse")
@click.option("--dem", "dem_name", required=True, help="DEM name or path.")
@click.option("--from", "start", required=True, help="Start LAT,LON (degrees).")
@click.option("--to", "goal", required=True, help="Goal LAT,LON (degrees).")
@click.option("--via", "via", multiple=True, help="Intermediate LAT,LON (repeatable, in order).")
@click.option("--max-slope", type=float, default=None, help="Slope limit in degrees (default 25).")
@click.option("--speed", type=float, default=None, help="Drive speed, m/h (default 144).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the route as GeoJSON (.geojson) or GeoPackage (.gpkg).",
)
@json_option
@handle_errors
def command(
    *,
    dem_name: str,
    start: str,
    goal: str,
    via: tuple[str, ...],
    max_slope: float | None,
    speed: float | None,
    output: Path | None,
    as_json: bool,
) -> None:
    """Plan a least-cost rover route: length, cost, slopes, drive time per leg."""
    from marsgis.io import open_dem
    from marsgis.io.vector import write_features
    from marsgis.planning import plan_traverse
    from marsgis.planning.traverse import route_summary

    dem = open_dem(dem_name)
    route = plan_traverse(
        dem, parse_latlon(start, "--from"), parse_latlon(goal, "--to"),
        via=[parse_latlon(v, f"--via {v}") for v in via], max_slope=max_slope,
        speed_m_per_h=speed,
    )  # fmt: skip
    if output is not None:
        write_features(route, output)
    result: dict[str, Any] = {
        "dem": str(dem.name),
        **{k: v for k, v in route_summary(route).items() if k != "legs"},
        "legs": feature_records(route),
    }
    if output is not None:
        result["output"] = output
    emit(result, as_json, _text)
