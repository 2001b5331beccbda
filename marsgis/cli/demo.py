"""``marsgis demo``: the mission-planning job end to end on the embedded defaults.

On the shipped data and the embedded SpatiaLite store (``MARSGIS_DATABASE_URL`` when set):

1. a summary of the shipped DEMs and their terrain products as GeoTIFFs;
2. a demo mission at Gale crater planned with :func:`marsgis.planning.plan_mission` (the MSL
   landing ellipse at Bradbury Landing, the traverse to Curiosity's sol-746 stop, the risk on
   the landing date) and saved to the mission store — reused on later runs;
3. the ``mission-plan`` report of that mission, run with papermill and exported to HTML;
4. the demo station (:func:`marsgis.db.station.seed.ensure_station`: the seeded generator's
   colonies at Jezero, Gale and Arcadia Planitia, bays, voyages, 3000 passengers) stored in the
   same database — reused on later runs — and its ``station-arrivals`` report for the day of
   the latest arrivals.

It prints where everything is, the arrivals report's HTML path on the line before the last;
the last line is the path of the mission-plan report's HTML.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from marsgis.cli._common import emit, handle_errors, json_option, to_jsonable
from marsgis.cli.dem import dem_info
from marsgis.config import settings
from marsgis.data import RASTERS
from marsgis.exceptions import OutputError
from marsgis.io import open_dem
from marsgis.io.atomic import check_json, write_text

__all__ = ["DEMO_MISSION", "command", "plan_demo_mission", "run_demo", "run_demo_station"]

_PRODUCTS = {
    "gale-1m": ("slope", "aspect", "roughness", "hillshade"),
    "gale-mola": ("slope", "aspect", "roughness", "hillshade"),
    "mola": ("slope", "hillshade"),
}
#: Name of the demo mission in the store.
DEMO_MISSION = "Demo: Curiosity at Gale"
_BRADBURY = (-4.5895, 137.4417)
_LANDING = "2012-08-06T05:17:57Z"
_GOAL_SOL = 746


def plan_demo_mission() -> Any:
    """The stored demo mission plan: reused if one exists, else planned and saved now."""
    import marsgis
    from marsgis import db, planning

    dem = marsgis.open_dem("gale-mola")  # before the store: see marsgis.reports (PROJ order)
    for mission in db.list_missions():
        if mission.name == DEMO_MISSION:
            stored = db.load_plan(mission.id)
            if any(a.kind == "traverse" for a in stored.artefacts):
                return stored
    stops = marsgis.open_features("msl-stops")
    stop = stops.iloc[int((stops["sol"] - _GOAL_SOL).abs().argmin())]
    plan = planning.plan_mission(
        DEMO_MISSION,
        lat=_BRADBURY[0],
        lon=_BRADBURY[1],
        dem=dem,
        constraints="msl",
        when=_LANDING,
        waypoints=[(float(stop.lat), float(stop.lon))],
        description=(
            "Created by `marsgis demo`: the MSL landing ellipse at Bradbury Landing, Gale "
            f"crater, and the drive to Curiosity's sol-{int(stop.sol)} stop."
        ),
        objectives=["land in Gale crater", "reach the base of Aeolis Mons"],
    )
    return db.save_plan(plan)


def run_demo_station(reports_dir: Path) -> tuple[dict[str, Any], Any]:
    """Store the demo station (or reuse it) and run its arrivals report.

    Returns the seed summary and the report run (for the day of the latest arrivals).
    """
    from marsgis import reports
    from marsgis.db.station import station_snapshot
    from marsgis.db.station.seed import ensure_station
    from marsgis.station import latest_arrival_day

    station = ensure_station()
    day = latest_arrival_day(station_snapshot())
    params = {} if day is None else {"day": day.isoformat()}
    run = reports.run_report("station-arrivals", params, out_dir=reports_dir)
    return station, run


def run_demo(out_dir: Path) -> dict[str, Any]:
    """Run the demo into ``out_dir`` and return its summary (also written as summary.json)."""
    from marsgis import db, reports, terrain

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot create the demo output folder {str(out_dir)!r}: {exc.strerror or exc}; "
            "choose another folder with --out"
        ) from exc
    started = time.perf_counter()
    dems = {name: dem_info(open_dem(name)) for name in sorted(RASTERS)}
    products: list[dict[str, Any]] = []
    for name, kinds in _PRODUCTS.items():
        for kind in kinds:
            path = out_dir / f"{name}-{kind}.tif"
            products.append(terrain.to_file(kind, name, path))
    stored = plan_demo_mission()
    run = reports.run_report(
        "mission-plan", {"mission_id": stored.mission.id}, out_dir=out_dir / "reports"
    )
    station, arrivals = run_demo_station(out_dir / "reports")
    database = settings().database_url
    summary = {
        "output_dir": str(out_dir),
        "dems": dems,
        "terrain_products": products,
        "database": db.get_engine().url.render_as_string(hide_password=True),
        "database_url_setting": "MARSGIS_DATABASE_URL"
        if database.startswith("postgresql")
        else "default",
        "demo_mission": stored.mission.to_dict(),
        "report_run": run.to_dict(),
        "report_html": None if run.html is None else str(run.html),
        "station": station,
        "arrivals_run": arrivals.to_dict(),
        "arrivals_html": None if arrivals.html is None else str(arrivals.html),
        "seconds": round(time.perf_counter() - started, 2),
    }
    write_text(
        out_dir / "summary.json", json.dumps(to_jsonable(summary), indent=2), check=check_json
    )
    return summary


def _text(summary: dict[str, Any]) -> str:
    lines = ["Shipped DEMs:"]
    for name, info in summary["dems"].items():
        lines.append(
            f"  {name:10s} {info['crs']:>16s} {info['shape'][0]}×{info['shape'][1]}  "
            f"res {info['resolution_m'][1]:.1f} m  elevation {info['min']:.0f} … {info['max']:.0f} m"
        )
    lines.append("Terrain products:")
    for p in summary["terrain_products"]:
        lines.append(f"  {p['output']}")
    mission = summary["demo_mission"]
    risk = mission["risk_assessment"]
    lines.append(
        f"Demo mission {mission['name']!r} ({mission['id']}) in {summary['database']}: "
        f"risk {risk.get('score', float('nan')):.3f} ({risk.get('level')}) at landing"
    )
    run = summary["report_run"]
    lines.append(
        f"Mission-plan report: run {run['id']} {run['status']} in {run['duration_s']:.1f} s"
    )
    station, arrivals = summary["station"], summary["arrivals_run"]
    lines.append(
        f"Demo station (seed {station.get('seed')}, "
        f"{'reused' if station['reused'] else 'stored now'}): {station.get('colonies')} colonies, "
        f"{station.get('voyages')} voyages, {station.get('passengers')} passengers, "
        f"{station.get('admitted')} admitted, {station.get('refused')} refused"
    )
    lines.append(
        f"Arrivals report: run {arrivals['id']} {arrivals['status']} in "
        f"{arrivals['duration_s']:.1f} s"
    )
    lines.append(f"Output: {summary['output_dir']} (summary.json)  [{summary['seconds']} s]")
    lines.append(f"Arrivals report HTML: {summary['arrivals_html']}")
    lines.append(f"Report HTML: {summary['report_html']}")
    return "\n".join(lines)


@click.command(name="demo")
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder (default: <user data dir>/demo).",
)
@json_option
@handle_errors
def command(out: Path | None, as_json: bool) -> None:
    """Plan a mission at Gale, build the demo station, run their reports, print the HTML paths."""
    out_dir = out or settings().data_dir / "demo"
    summary = run_demo(out_dir)
    emit(summary, as_json, _text)
    failed = [
        (name, summary[key])
        for name, key in (("mission-plan", "report_run"), ("station-arrivals", "arrivals_run"))
        if summary[key]["status"] != "succeeded"
    ]
    for name, run in failed:
        click.echo(f"error: the {name} report failed: {run['error']}", err=True)
    if failed:
        sys.exit(1)
