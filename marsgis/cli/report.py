"""``marsgis report``: run parameterised notebook reports and manage their schedules.

Examples
--------
::

    marsgis report list
    marsgis report run mission-plan -p mission_id 6f1c… -p date 2026-03-01
    marsgis report runs --status failed --json
    marsgis report schedule add gale-daily mission-plan --cron "0 6 * * *" -p mission_id 6f1c…
    marsgis report schedule list
    marsgis report schedule remove gale-daily

``report run`` exits with status 0 when the report succeeded, 1 when it ran and failed (the
run is recorded with its error and printed), and 2 for bad input (nothing recorded).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from marsgis.cli._common import emit, handle_errors, json_option

__all__ = ["command"]

_param_option = click.option(
    "-p",
    "--parameter",
    "parameters",
    nargs=2,
    multiple=True,
    metavar="NAME VALUE",
    help="A report parameter (repeatable); VALUE is read as JSON when it parses, else text.",
)


def _params(pairs: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    from marsgis.reports.catalog import parse_parameter

    return {name: parse_parameter(value) for name, value in pairs}


def _run_text(run: dict[str, Any]) -> str:
    outputs = run["outputs"]
    lines = [f"run {run['id']} of {run['report']}: {run['status']}"]
    if run.get("schedule"):
        lines.append(f"schedule: {run['schedule']} (due {run['due_at']})")
    if run["duration_s"] is not None:
        lines.append(f"took: {run['duration_s']:.1f} s")
    if outputs.get("html"):
        lines.append(f"html: {outputs['html']}")
    if outputs.get("notebook"):
        lines.append(f"notebook: {outputs['notebook']}")
    if outputs.get("missed_due_times"):
        lines.append(f"stood in for {len(outputs['missed_due_times'])} missed due time(s)")
    if run["error"]:
        lines.append(f"error: {run['error']}")
    return "\n".join(lines)


def _runs_text(runs: list[dict[str, Any]]) -> str:
    if not runs:
        return "no report runs"
    return "\n".join(
        f"{r['id']:>5}  {r['status']:<9}  {r['started_at'][:19]}  {r['report']}"
        + (f"  [{r['schedule']}]" if r["schedule"] else "")
        + (
            f"  (+{len(r['outputs']['missed_due_times'])} missed)"
            if r["outputs"].get("missed_due_times")
            else ""
        )
        + (f"  {r['outputs'].get('html')}" if r["outputs"].get("html") else "")
        + (f"  error: {r['error'][:80]}" if r["error"] else "")
        for r in runs
    )


def _schedules_text(schedules: list[dict[str, Any]]) -> str:
    if not schedules:
        return "no report schedules"
    return "\n".join(
        f"{s['id']:>4}  {s['name']:<24}  {s['cron']:<16}  next {s['next_run_at'][:19]}  "
        f"{s['report']}  {s['parameters']}"
        + ("" if s["enabled"] else "  (disabled)")
        + (f"  running on {s['locked_by']}" if s["locked_by"] else "")
        for s in schedules
    )


@click.group("report")
def command() -> None:
    """Run parameterised reports and manage their schedules (see docs/reports.md)."""


@command.command("list")
@json_option
@handle_errors
def list_cmd(*, as_json: bool) -> None:
    """The shipped reports and their parameters."""
    from marsgis import reports

    infos = [info.to_dict() for info in reports.list_reports()]

    def text(items: list[dict[str, Any]]) -> str:
        lines = []
        for item in items:
            params = ", ".join(
                f"{name}={spec.get('default')}"
                + (" (required)" if name in item["required"] else "")
                for name, spec in item["parameters"].items()
            )
            lines.append(f"{item['name']}: {params}  [{item['path']}]")
        return "\n".join(lines) or "no reports found"

    emit(infos, as_json, text)


@command.command("run")
@click.argument("report")
@_param_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Reports folder (default MARSGIS_REPORTS_DIR, else <data dir>/reports).",
)
@click.option("--timeout", type=float, default=None, help="Stop the report after SECONDS.")
@json_option
@handle_errors
def run_cmd(
    *,
    report: str,
    parameters: tuple[tuple[str, str], ...],
    out: Path | None,
    timeout: float | None,
    as_json: bool,
) -> None:
    """Run REPORT (a shipped report's name or a notebook path) now and record the run."""
    from marsgis import reports

    run = reports.run_report(report, _params(parameters), out_dir=out, timeout_s=timeout)
    emit(run.to_dict(), as_json, _run_text)
    if run.status != "succeeded":
        click.echo(f"error: report run {run.id} failed: {run.error}", err=True)
        sys.exit(1)


@command.command("runs")
@click.option("--report", default=None, help="Only runs of this report.")
@click.option("--schedule", default=None, help="Only runs of this schedule (name or id).")
@click.option(
    "--status",
    type=click.Choice(["running", "succeeded", "failed"]),
    default=None,
    help="Only runs in this status.",
)
@click.option("--limit", type=int, default=20, show_default=True, help="At most this many.")
@json_option
@handle_errors
def runs_cmd(
    *,
    report: str | None,
    schedule: str | None,
    status: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Recorded report runs, newest first."""
    from marsgis import reports

    runs = reports.list_runs(report=report, schedule=schedule, status=status, limit=limit)
    emit([r.to_dict() for r in runs], as_json, _runs_text)


@command.command("show")
@click.argument("run_id", type=int)
@json_option
@handle_errors
def show_cmd(*, run_id: int, as_json: bool) -> None:
    """One recorded run: status, outputs, error."""
    from marsgis import reports

    emit(reports.get_run(run_id).to_dict(), as_json, _run_text)


@command.group("schedule")
def schedule() -> None:
    """Cron schedules of reports, run by `marsgis scheduler` (cron in UTC)."""


@schedule.command("add")
@click.argument("name")
@click.argument("report")
@click.option(
    "--cron",
    required=True,
    help="Cron expression in UTC: '0 6 * * *'; a 6th field is seconds ('* * * * * */10').",
)
@_param_option
@click.option("--disabled", is_flag=True, help="Store the schedule without running it.")
@json_option
@handle_errors
def schedule_add(
    *,
    name: str,
    report: str,
    cron: str,
    parameters: tuple[tuple[str, str], ...],
    disabled: bool,
    as_json: bool,
) -> None:
    """Schedule REPORT as NAME on a cron expression."""
    from marsgis import reports

    added = reports.add_schedule(name, report, cron, _params(parameters), enabled=not disabled)
    emit(added.to_dict(), as_json)


@schedule.command("list")
@json_option
@handle_errors
def schedule_list(*, as_json: bool) -> None:
    """The stored schedules and their next due times."""
    from marsgis import reports

    emit([s.to_dict() for s in reports.list_schedules()], as_json, _schedules_text)


@schedule.command("remove")
@click.argument("name")
@json_option
@handle_errors
def schedule_remove(*, name: str, as_json: bool) -> None:
    """Remove schedule NAME (or id); its past runs stay in the history."""
    from marsgis import reports

    removed = reports.remove_schedule(name)
    emit(
        {"removed": removed.to_dict()},
        as_json,
        lambda doc: f"removed schedule {doc['removed']['name']!r}",
    )
