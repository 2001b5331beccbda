"""The ``marsgis`` command line. Every command takes ``--json`` and then prints one JSON document.

Adding a command (the pattern every command follows):

1. write ``marsgis/cli/<name>.py`` exposing ``command``, a click command or group, whose
   options and help need only click and :mod:`marsgis.cli._common` at import: import the
   library (``marsgis.<package>``, numpy, xarray, …) *inside* the callbacks, where the work
   starts;
2. add one line to ``_COMMANDS`` below: ``"<name>": ("<module>", "<one-line help>")``. The
   one-line help is what ``marsgis --help`` prints, so listing the commands imports none of
   their modules; ``marsgis <name> …`` imports ``marsgis.cli.<module>`` and nothing else.

So ``marsgis --help`` loads click and this table only (no numpy), ``marsgis sample`` does not
pay for torch or the planning stack, and ``marsgis terrain slope`` of a GeoTIFF loads rasterio
and numpy, not xarray or dask (nor numba, up to 2048² cells: :mod:`marsgis.terrain.stream`). ``tests/test_cli_startup.py`` holds the
import lists (add a case for a new command whose start-up matters), and ``make bench``'s
``cli_startup`` section the fixed cost of a call.

Errors never print a traceback. Exit status 2 is bad input (``error: <message>`` on stderr:
a :class:`~marsgis.exceptions.MarsGISError` from the command, or click's usage message for a
bad or missing option); 1 is a run that started and failed (``report run``, ``scheduler
--once``, ``demo``) or an internal error (``error: internal error (...); please report it``).
With ``--json`` every error is also one JSON document on stdout:
``{"error": {"type": "<exception class>", "message": "..."}}`` (see
:func:`marsgis.cli._common.handle_errors`).
"""

from __future__ import annotations

import atexit
import contextvars
import gc
import importlib
import importlib.util
import json
import sys
from collections.abc import Sequence
from typing import Any

import click

from marsgis.cli._common import error_document, handle_errors

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
    "serve": ("serve", "Run the service API (/api/v1) with uvicorn on 127.0.0.1:8080."),
    "sites": (
        "sites",
        "Landing-site constraints: check a point, map eligibility, search ellipses.",
    ),
    "station": ("station", "The station: audit log verification and the seeded demo station."),
    "terrain": ("terrain", "Slope, aspect, roughness and hillshade to GeoTIFF."),
    "token": ("token", "Create, revoke and list the service API's bearer tokens."),
    "traverse": ("traverse", "Plan a rover traverse on a DEM."),
}


# whether the command line being run asks for --json (read by usage-error handling)
_AS_JSON: contextvars.ContextVar[bool] = contextvars.ContextVar("marsgis_cli_json", default=False)


class _LazyGroup(click.Group):
    """A click group that imports each sub-command's module on first use.

    It also gives click's usage errors (an unknown option, a missing argument, a value of the
    wrong type) the ``--json`` error document, and runs a command that lacks
    :func:`~marsgis.cli._common.handle_errors` through the same error path.
    """

    def main(self, args: Sequence[str] | None = None, *pargs: Any, **kwargs: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        before_end = argv[: argv.index("--")] if "--" in argv else argv
        token = _AS_JSON.set("--json" in before_end)
        # at the interpreter's exit, move every object to the GC's permanent generation so
        # that the exit's collections do not walk them (after numba has loaded a kernel they
        # took 0.3-0.5 s); commands close and rename their files before they return, and a
        # process that goes on after main() keeps its GC until then
        atexit.unregister(gc.freeze)
        atexit.register(gc.freeze)
        try:
            return super().main(argv, *pargs, **kwargs)
        finally:
            _AS_JSON.reset(token)

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.ClickException as exc:
            _usage_error_document(exc)
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return _guarded(super().invoke)(ctx, as_json=_AS_JSON.get())
        except click.ClickException as exc:
            _usage_error_document(exc)
            raise

    def list_commands(self, ctx: click.Context) -> list[str]:
        lazy = {name for name, (module, _) in _COMMANDS.items() if _exists(module)}
        return sorted(lazy | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:  # added with add_command
            return self.commands[cmd_name]
        if cmd_name not in _COMMANDS or not _exists(_COMMANDS[cmd_name][0]):
            return None
        module = importlib.import_module(f"marsgis.cli.{_COMMANDS[cmd_name][0]}")
        command: click.Command = module.command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [
            (
                name,
                _COMMANDS[name][1]
                if name in _COMMANDS
                else self.commands[name].get_short_help_str(),
            )
            for name in self.list_commands(ctx)
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _guarded(invoke: Any) -> Any:
    """``invoke(ctx)`` under :func:`handle_errors` (a safety net; commands have their own)."""

    @handle_errors
    def run(ctx: click.Context, *, as_json: bool) -> Any:
        return invoke(ctx)

    return run


def _usage_error_document(exc: click.ClickException) -> None:
    if _AS_JSON.get():
        click.echo(json.dumps(error_document(exc, exc.format_message()), indent=2))


def _exists(module: str) -> bool:
    return importlib.util.find_spec(f"marsgis.cli.{module}") is not None


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="marsgis")
def main() -> None:
    """marsgis: Mars terrain analysis and mission planning."""
