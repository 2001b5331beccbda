"""``marsgis terrain slope|aspect|roughness|hillshade NAME|PATH -o OUT.tif``.

The DEM is opened lazily and the product streamed into a GeoTIFF in the DEM's Mars CRS
(:func:`marsgis.terrain.to_file`); a summary of the output is printed (one JSON document with
``--json``). Long runs show a dask progress bar on stderr (:mod:`marsgis.progress`: when
stderr is a terminal and the ``progress`` option allows it; never with ``--json``).
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Any

import click

from marsgis.cli._common import emit, handle_errors, json_option

__all__ = ["command", "run_product"]

_COMPRESSION = ["deflate", "zstd", "lzw", "lzma", "packbits", "none"]


def run_product(
    product: str,
    source: str,
    output: Path,
    *,
    as_json: bool,
    compress: str,
    **kwargs: Any,
) -> dict[str, Any]:
    """Run :func:`marsgis.terrain.stream.stream_to_file` (``to_file``'s result, lighter).

    A GeoTIFF input is streamed without xarray/dask; progress on stderr, never with --json.
    """
    from marsgis._options import set_options
    from marsgis.terrain.stream import stream_to_file

    with set_options(progress=False) if as_json else nullcontext():
        return stream_to_file(product, source, output, compress=compress, **kwargs)


def _common(func: Any) -> Any:
    func = json_option(func)
    func = click.option(
        "--compress",
        type=click.Choice(_COMPRESSION, case_sensitive=False),
        default="deflate",
        show_default=True,
        help="GeoTIFF compression of the output.",
    )(func)
    func = click.option(
        "-o",
        "--output",
        required=True,
        type=click.Path(dir_okay=False, writable=True, path_type=Path),
        help="Output GeoTIFF.",
    )(func)
    return click.argument("source")(func)


@click.group(name="terrain")
def command() -> None:
    """Terrain products of a DEM (shipped name or file), written as GeoTIFF."""


@command.command(name="slope")
@_common
@handle_errors
def slope_cmd(source: str, output: Path, compress: str, as_json: bool) -> None:
    """Slope of SOURCE in degrees (Horn, as gdaldem slope, true metres)."""
    emit(run_product("slope", source, output, as_json=as_json, compress=compress), as_json)


@command.command(name="aspect")
@_common
@handle_errors
def aspect_cmd(source: str, output: Path, compress: str, as_json: bool) -> None:
    """Aspect of SOURCE in degrees clockwise from north (NaN where flat)."""
    emit(run_product("aspect", source, output, as_json=as_json, compress=compress), as_json)


@command.command(name="roughness")
@_common
@handle_errors
def roughness_cmd(source: str, output: Path, compress: str, as_json: bool) -> None:
    """Roughness of SOURCE: max - min elevation of each 3x3 window, in metres."""
    emit(run_product("roughness", source, output, as_json=as_json, compress=compress), as_json)


@command.command(name="hillshade")
@_common
@click.option("--azimuth", type=float, default=315.0, show_default=True, help="Light azimuth, °.")
@click.option("--altitude", type=float, default=45.0, show_default=True, help="Light altitude, °.")
@click.option("--z-factor", type=float, default=1.0, show_default=True, help="Exaggeration.")
@handle_errors
def hillshade_cmd(
    *,
    source: str,
    output: Path,
    compress: str,
    as_json: bool,
    azimuth: float,
    altitude: float,
    z_factor: float,
) -> None:
    """Shaded relief of SOURCE (1-255, as gdaldem hillshade)."""
    result = run_product(
        "hillshade",
        source,
        output,
        as_json=as_json,
        compress=compress,
        azimuth=azimuth,
        altitude=altitude,
        z_factor=z_factor,
    )
    emit(result, as_json)
