"""The ``marsgis`` command line. Every command takes ``--json`` and then prints one JSON document.

Sub-commands live in one module each (``marsgis/cli/<name>.py``) exposing ``command``, a
click command or group, registered here in ``_COMMANDS``. They are imported only when used,
so ``marsgis sample`` does not pay for importing torch or the planning stack.
"""

from __future__ import annotations

import importlib
import importlib.util

import click

__all__ = ["main"]

# command name -> (module in marsgis.cli, one-line help shown by `marsgis --help`)
_COMMANDS: dict[str, tuple[str, str]] = {
    "catalog": ("catalog", "Shipped STAC catalog, remote STAC search and the download cache."),
    "db": ("db", "Database schema: upgrade and current revision."),
    "dem": ("dem", "Inspect DEMs (shipped names or files)."),
    "demo": ("demo", "Run the main job on the embedded defaults and print where its output is."),
    "mission": ("mission", "Create, list, show, update, delete and plan missions."),
    "ml": ("ml", "Train, evaluate and run the terrain classifier."),
    "report": ("report", "Run parameterised reports and manage their schedules."),
    "sample": ("sample", "Elevation of a DEM at a point (bilinear, metres)."),
    "scheduler": ("scheduler", "Run the scheduled reports that are due."),
    "sites": (
        "sites",
        "Landing-site constraints: check a point, map eligibility, search ellipses.",
    ),
    "terrain": ("terrain", "Slope, aspect, roughness and hillshade to GeoTIFF."),
    "traverse": ("traverse", "Plan a rover traverse on a DEM."),
}


class _LazyGroup(click.Group):
    """A click group that imports each sub-command's module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name, (module, _) in _COMMANDS.items() if _exists(module))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _COMMANDS or not _exists(_COMMANDS[cmd_name][0]):
            return None
        module = importlib.import_module(f"marsgis.cli.{_COMMANDS[cmd_name][0]}")
        command: click.Command = module.command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, _COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _exists(module: str) -> bool:
    return importlib.util.find_spec(f"marsgis.cli.{module}") is not None


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="marsgis")
def main() -> None:
    """marsgis: Mars terrain analysis and mission planning."""
