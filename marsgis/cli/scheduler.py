"""``marsgis scheduler``: run the scheduled reports that are due, until stopped.

Examples
--------
::

    marsgis scheduler                  # loop: wake when a schedule is due (at most every 30 s)
    marsgis scheduler --once --json    # one pass: run what is due now, print the runs, exit

SIGTERM or Ctrl-C stops it after the run in progress (a second one stops at once; that run is
recorded failed). A failing report is recorded and never stops the scheduler. Exit status, as
for ``marsgis report run``: 0; 1 when a report of a ``--once`` pass ran and failed (the runs are
printed all the same, the failed ones named on stderr); 2 for bad input; 130 when interrupted
twice. A looping scheduler that is stopped exits 0 whatever its reports did. Several schedulers may share one database: a schedule runs on
one of them at a time. See ``docs/reports.md`` for the catch-up policy and leases.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import click

from marsgis.cli._common import emit, handle_errors, json_option

__all__ = ["command"]


def _text(summary: dict[str, Any]) -> str:
    lines = [
        f"{summary['succeeded']} succeeded, {summary['failed']} failed "
        f"({len(summary['runs'])} run(s))"
    ]
    for run in summary["runs"]:
        where = run["outputs"].get("html") or run["error"]
        lines.append(f"  run {run['id']} [{run['schedule']}] {run['status']}: {where}")
    return "\n".join(lines)


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Run what is due now, then exit.")
@click.option(
    "--interval",
    type=float,
    default=30.0,
    show_default=True,
    help="Longest sleep between passes, seconds (it wakes earlier when a schedule is due).",
)
@click.option(
    "--lease",
    type=float,
    default=None,
    help="Lease of a running schedule, seconds (default 120; renewed every lease/4).",
)
@click.option("--timeout", type=float, default=None, help="Stop any one report after SECONDS.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Reports folder (default MARSGIS_REPORTS_DIR, else <data dir>/reports).",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
    help="Log level of the messages on stderr.",
)
@json_option
@handle_errors
def command(
    *,
    once: bool,
    interval: float,
    lease: float | None,
    timeout: float | None,
    out: Path | None,
    log_level: str,
    as_json: bool,
) -> None:
    """Run the scheduled reports that are due (MARSGIS_DATABASE_URL, SpatiaLite by default)."""
    from marsgis import reports

    logging.basicConfig(
        level=getattr(logging, log_level.upper()),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if log_level != "debug":  # their per-run chatter hides the scheduler's own messages
        logging.getLogger("papermill").setLevel(logging.WARNING)
        logging.getLogger("alembic").setLevel(logging.WARNING)
        logging.getLogger("traitlets").setLevel(logging.ERROR)  # nbconvert's alt-text notes
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        logging.getLogger("marsgis.reports.scheduler").info(
            "%s received: stopping after the run in progress", signal.Signals(signum).name
        )
        stop.set()

    if not once:
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    try:
        runs = reports.run_scheduler(
            interval_s=interval,
            once=once,
            lease_s=reports.DEFAULT_LEASE_S if lease is None else lease,
            out_dir=out,
            timeout_s=timeout,
            stop=stop,
        )
    except KeyboardInterrupt:
        click.echo(
            "error: scheduler interrupted; the run in progress was recorded failed", err=True
        )
        sys.exit(130)
    docs = [r.to_dict() for r in runs]
    summary = {
        "runs": docs,
        "succeeded": sum(r["status"] == "succeeded" for r in docs),
        "failed": sum(r["status"] == "failed" for r in docs),
    }
    emit(summary, as_json, _text)
    failed = [r for r in docs if r["status"] == "failed"]
    if once and failed:
        click.echo(
            f"error: {len(failed)} of {len(docs)} scheduled report run(s) failed: "
            + "; ".join(f"run {r['id']} [{r['schedule']}]: {r['error']}" for r in failed),
            err=True,
        )
        sys.exit(1)
