"""``marsgis demo``: the main job on the embedded defaults.

For now: a summary of the shipped DEMs, their terrain products as GeoTIFFs, and a demo
mission in the embedded mission store. Prints where the output is.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from marsgis.cli._common import emit, handle_errors, json_option, to_jsonable
from marsgis.cli.dem import dem_info
from marsgis.config import settings
from marsgis.data import RASTERS
from marsgis.io import open_dem

__all__ = ["command", "run_demo"]

_PRODUCTS = {
    "gale-1m": ("slope", "aspect", "roughness", "hillshade"),
    "gale-mola": ("slope", "aspect", "roughness", "hillshade"),
    "mola": ("slope", "hillshade"),
}


def run_demo(out_dir: Path) -> dict[str, Any]:
    """Run the demo into ``out_dir`` and return its summary (also written as summary.json)."""
    from marsgis import db, terrain

    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    dems = {name: dem_info(open_dem(name)) for name in sorted(RASTERS)}
    products: list[dict[str, Any]] = []
    for name, kinds in _PRODUCTS.items():
        for kind in kinds:
            path = out_dir / f"{name}-{kind}.tif"
            products.append(terrain.to_file(kind, name, path))
    database = settings().database_url
    existing = [m for m in db.list_missions() if m.name == "Demo: Curiosity at Gale"]
    mission = (
        existing[0]
        if existing
        else db.add_mission(
            "Demo: Curiosity at Gale",
            lat=-4.5895,
            lon=137.4417,
            mission_type="traverse",
            description="Created by `marsgis demo`: Bradbury Landing, Gale crater.",
        )
    )
    summary = {
        "output_dir": str(out_dir),
        "dems": dems,
        "terrain_products": products,
        "database": db.get_engine().url.render_as_string(hide_password=True),
        "database_url_setting": "MARSGIS_DATABASE_URL"
        if database.startswith("postgresql")
        else "default",
        "demo_mission": mission.to_dict(),
        "seconds": round(time.perf_counter() - started, 2),
    }
    (out_dir / "summary.json").write_text(json.dumps(to_jsonable(summary), indent=2))
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
    lines.append(f"Demo mission {summary['demo_mission']['id']} in {summary['database']}")
    lines.append(f"Output: {summary['output_dir']} (summary.json)  [{summary['seconds']} s]")
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
    """Run the main job on the embedded defaults and print where its output is."""
    out_dir = out or settings().data_dir / "demo"
    emit(run_demo(out_dir), as_json, _text)
