"""``marsgis sample NAME|PATH --lat LAT --lon LON``: bilinear elevation at a point."""

from __future__ import annotations

import click

from marsgis.cli._common import emit, handle_errors, json_option
from marsgis.io import open_dem
from marsgis.sampling import sample

__all__ = ["command"]


@click.command(name="sample")
@click.argument("source")
@click.option("--lat", type=float, required=True, help="Planetocentric latitude, degrees.")
@click.option("--lon", type=float, required=True, help="East longitude, 0–360 or −180–180.")
@json_option
@handle_errors
def command(source: str, lat: float, lon: float, as_json: bool) -> None:
    """Print the elevation of SOURCE at LAT, LON (bilinear, metres)."""
    dem = open_dem(source)
    value = sample(dem, lat, lon, outside="raise")
    emit({"source": source, "lat": lat, "lon": lon, "elevation_m": value}, as_json)
