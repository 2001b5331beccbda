"""The reports dashboard's widgets: recorded runs by mission name, one run's report, run now.

``dashboards/reports.ipynb`` shows :class:`ReportsBrowser` (and nothing else); it works in
JupyterLab as well as in Voila.

* Runs are listed by report, **mission name** (from the run's ``mission_id``), status and time;
  the newest *successful* run opens by default.
* A failed run shows one line (the error's last line); the full error and the executed
  notebook with its traceback are behind a toggle.
* **Run now** (roles that may record a run: operators, scientists, owners; viewers see it
  disabled, with the reason) records the run, executes it in the background and selects it.
* The dashboard is live (:func:`marsgis.events.subscribe`): runs started, finished or failed
  anywhere (the scheduler, the API, another browser) appear without a reload, and the open
  run's state follows as it runs.
"""

from __future__ import annotations

import html
import logging
import threading
from typing import TYPE_CHECKING, Any

from marsgis.exceptions import MarsGISError
from marsgis.reports.runs import ReportRun, get_run, list_runs
from marsgis.reports.views import download_link, embed_report
from marsgis.viz.dashboards._ui import StatusLine, follow, header, table_html, viewer

if TYPE_CHECKING:
    from marsgis.db import Engine

__all__ = ["ReportsBrowser", "failure_line"]

log = logging.getLogger("marsgis.reports.dashboard")

_ALL = "all"
_COLOURS = {"succeeded": "#1b7f3b", "failed": "#b3261e", "running": "#8a6d00"}


def failure_line(error: str | None) -> str:
    r"""The one-line reason of a failed run: the last non-empty line of its error.

    >>> failure_line("Traceback (most recent call last):\n  ...\nValueError: boom\n")
    'ValueError: boom'
    >>> failure_line(None)
    'no error was recorded'
    """
    lines = [line.strip() for line in (error or "").splitlines() if line.strip()]
    if not lines:
        return "no error was recorded"
    line = lines[-1]
    return line if len(line) <= 300 else line[:299] + "…"


class ReportsBrowser:
    """Recorded report runs with filters, one run's report, and "Run now" for operators.

    Parameters
    ----------
    limit
        Most runs listed (newest first).
    db
        Database URL, engine, or None for ``MARSGIS_DATABASE_URL``.
    person
        Who is looking (default ``JUPYTERHUB_USER`` or the OS user).

    Attributes
    ----------
    widget
        The ipywidgets box to display.
    runs
        The runs listed (newest first).
    who
        The viewer and what their database role allows (read once).
    """

    def __init__(
        self,
        *,
        limit: int = 100,
        db: str | Engine | None = None,
        person: str | None = None,
    ) -> None:
        import ipywidgets as w

        self.limit, self.db = limit, db
        self.who = viewer(db, person)
        self.status_line = StatusLine()
        self.status = w.ToggleButtons(
            options=[_ALL, "succeeded", "failed", "running"], description="Status"
        )
        self.report = w.Dropdown(options=[_ALL], value=_ALL, description="Report")
        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        self.run = w.Dropdown(options=[], description="Run", layout={"width": "52em"})
        self.message = w.HTML()
        self.state = w.HTML()
        self.state.add_class("marsgis-run-state")
        self.failure = w.HTML()
        self.failure.add_class("marsgis-run-failure")
        self.failure_text = w.HTML()
        self.failure_details = w.Accordion(children=[self.failure_text], selected_index=None)
        self.failure_details.set_title(0, "Details (full error)")
        self.failure_details.layout.display = "none"
        self.download = w.HTML()
        self.viewer = w.HTML()
        # run now
        self.new_report = w.Dropdown(options=[], description="Report")
        self.new_mission = w.Dropdown(options=[], description="Mission")
        self.run_now = w.Button(description="Run now", button_style="primary", icon="play")
        self.run_now.add_class("marsgis-run-now")
        self.run_now_note = w.HTML()
        self.run_now_note.add_class("marsgis-readonly")
        self.schedules = w.HTML()
        self.runs: list[ReportRun] = []
        self.mission_names: dict[str, str] = {}
        #: Runs started here and still executing (run id -> thread).
        self.started: dict[int, threading.Thread] = {}

        self.status.observe(self._on_filter, names="value")
        self.report.observe(self._on_filter, names="value")
        self.run.observe(self._on_run, names="value")
        self.new_report.observe(lambda _: self._sync_run_now(), names="value")
        self.refresh_button.on_click(lambda _button: self.refresh())
        self.run_now.on_click(lambda _button: self.start())
        run_box = w.VBox(
            [
                w.HTML("<b>Run a report now</b>"),
                w.HBox([self.new_report, self.new_mission, self.run_now]),
                self.run_now_note,
            ],
            layout=w.Layout(border="1px solid #e2e8f0", padding="6px", margin="6px 0"),
        )
        self.widget = w.VBox(
            [
                header("Reports", "Recorded report runs", who=self.who),
                self.status_line.html,
                run_box,
                w.HBox([self.status, self.refresh_button]),
                self.report,
                self.message,
                self.run,
                self.state,
                self.failure,
                self.failure_details,
                self.download,
                self.viewer,
                w.HTML("<h4>Schedules</h4>"),
                self.schedules,
            ]
        )
        self.widget.add_class("marsgis-dashboard")
        self.status_line.container = self.widget
        self._load_choices()
        self.refresh()
        #: The live feed of the event log that keeps the runs current.
        self.live = follow("reports,missions,schedules", self._on_events, db, widget=self.widget)

    # ------------------------------------------------------------------ loading

    def close(self) -> None:
        """Stop following the event log and close the widgets."""
        self.live.stop()
        self.widget.close()

    def _load_missions(self) -> None:
        from marsgis.db import list_missions

        try:
            missions = list_missions(db=self.db)
        except MarsGISError:
            log.warning("could not read the missions", exc_info=True)
            return
        self.mission_names = {m.id: m.name for m in missions}
        keep = self.new_mission.value
        self.new_mission.options = [(f"{m.name} · {m.status}", m.id) for m in missions]
        ids = [m.id for m in missions]
        self.new_mission.value = keep if keep in ids else (ids[0] if ids else None)

    def _load_choices(self) -> None:
        """The reports and missions offered by "Run now", and the schedules."""
        from marsgis.reports.catalog import list_reports
        from marsgis.reports.schedules import list_schedules

        names = [r.name for r in list_reports()]
        keep = self.new_report.value
        self.new_report.options = names
        self.new_report.value = keep if keep in names else (names[0] if names else None)
        self._load_missions()
        try:
            schedules = list_schedules(db=self.db)
        except MarsGISError:
            log.warning("could not read the schedules", exc_info=True)
            schedules = []
        self.schedules.value = (
            table_html(
                [
                    (
                        s.name,
                        s.report,
                        s.cron,
                        self._parameters_text(s.parameters),
                        "yes" if s.enabled else "no",
                    )
                    for s in schedules
                ],
                ("name", "report", "cron", "for", "enabled"),
            )
            if schedules
            else "<i>no schedules</i>"
        )
        self._sync_run_now()

    def _parameters_text(self, parameters: dict[str, Any]) -> str:
        """A run's parameters in words: the mission by name, the rest as ``key=value``."""
        parts = []
        for key, value in parameters.items():
            if key == "mission_id":
                parts.append(self.mission_names.get(str(value), f"mission {value} (deleted)"))
            else:
                parts.append(f"{key}={value}")
        return ", ".join(parts) or "—"

    def _label(self, run: ReportRun) -> str:
        name = run.report.rsplit("/", 1)[-1].removesuffix(".ipynb")
        return (
            f"{name} · {self._parameters_text(run.parameters)} · {run.status} · "
            f"{run.started_at:%Y-%m-%d %H:%M} UTC (run {run.id})"
        )

    def _on_filter(self, _change: Any) -> None:
        self.refresh()

    def _on_run(self, change: dict[str, Any]) -> None:
        self.show(change["new"])

    def refresh(self, *, keep: int | None = None) -> None:
        """Reload the runs with the current filters; open ``keep`` (default: newest success)."""
        status = None if self.status.value == _ALL else self.status.value
        report = None if self.report.value == _ALL else self.report.value

        def load() -> tuple[list[str], list[ReportRun]]:
            names = sorted({r.report for r in list_runs(limit=self.limit, db=self.db)})
            return names, list_runs(report=report, status=status, limit=self.limit, db=self.db)

        loaded = self.status_line.run("Loading runs", load, done=lambda r: f"{len(r[1])} run(s)")
        if loaded is None:
            return
        self._fill(*loaded, keep)

    def _fill(self, names: list[str], runs: list[ReportRun], keep: int | None) -> None:
        """Show ``runs``; open ``keep`` if listed, else the newest success, else the newest."""
        self.runs = runs
        self.report.unobserve(self._on_filter, names="value")
        try:
            kept = self.report.value if self.report.value in names else _ALL
            self.report.options = [_ALL, *names]
            self.report.value = kept
        finally:
            self.report.observe(self._on_filter, names="value")
        ids = [r.id for r in runs]
        if keep not in ids:
            good = [r.id for r in runs if r.status == "succeeded"]
            keep = good[0] if good else (ids[0] if ids else None)
        self.run.unobserve(self._on_run, names="value")
        try:
            self.run.options = [(self._label(r), r.id) for r in runs]
            self.run.value = keep
        finally:
            self.run.observe(self._on_run, names="value")
        self.message.value = f"{len(runs)} run(s)"
        self.show(keep)

    def show(self, run_id: int | None) -> None:
        """Open run ``run_id``: its state, its report (or why it failed) and a download link."""
        self.failure.value = ""
        self.failure_text.value = ""
        self.failure_details.layout.display = "none"
        self.download.value = ""
        if run_id is None:
            self.state.value = ""
            self.viewer.value = "<p>No runs to show.</p>"
            return
        try:
            run = get_run(int(run_id), db=self.db)
        except MarsGISError as exc:
            self.state.value = ""
            self.viewer.value = f'<b style="color:#b3261e">{html.escape(str(exc))}</b>'
            return
        colour = _COLOURS.get(run.status, "inherit")
        took = f", {run.duration_s:.0f} s" if run.duration_s is not None else ""
        self.state.value = (
            f"<span data-run-id='{run.id}' data-status='{html.escape(run.status)}'>"
            f"<b style='color:{colour}'>{html.escape(run.status)}</b>"
            f" · {html.escape(self._label(run))}{took}</span>"
        )
        if run.status == "failed":
            self.failure.value = (
                "<div class='marsgis-error' data-role='failure'>The report failed: "
                f"{html.escape(failure_line(run.error))}</div>"
            )
            # the details: the full error and the executed notebook up to the failing cell
            self.failure_text.value = (
                f"<pre style='white-space:pre-wrap'>{html.escape(run.error or '')}</pre>"
                + (embed_report(run, height_px=600) if run.html is not None else "")
            )
            self.failure_details.selected_index = None
            self.failure_details.layout.display = ""
            self.viewer.value = ""
            return
        if run.status == "running":
            self.viewer.value = "<p><i>The report is running; it opens here when done.</i></p>"
            return
        self.download.value = download_link(run)
        self.viewer.value = embed_report(run)

    # ------------------------------------------------------------------ run now

    def _sync_run_now(self) -> None:
        """Run now: enabled for roles that may record a run, with a mission when needed."""
        from marsgis.reports.catalog import report_info

        if not self.who.run_reports:
            self.run_now.disabled = True
            self.run_now_note.value = html.escape(
                self.who.refusal("Running a report", "operator or scientist")
            )
            return
        needs_mission = bool(
            self.new_report.value and "mission_id" in report_info(self.new_report.value).parameters
        )
        self.new_mission.disabled = not needs_mission
        if needs_mission and self.new_mission.value is None:
            self.run_now.disabled = True
            self.run_now_note.value = "No missions stored yet: plan one first."
            return
        self.run_now.disabled = not self.new_report.value
        self.run_now_note.value = ""

    def start(self) -> ReportRun | None:
        """What "Run now" does: record the run, execute it in the background, open it."""
        from marsgis.reports.catalog import report_info
        from marsgis.reports.execute import execute_run, start_run

        if not self.who.run_reports:
            self.status_line.error(self.who.refusal("Running a report", "operator or scientist"))
            return None
        name = self.new_report.value
        params: dict[str, Any] = {}
        if name and "mission_id" in report_info(name).parameters:
            params["mission_id"] = self.new_mission.value

        def record() -> ReportRun:
            from marsgis.exceptions import ValidationError

            if not name:
                raise ValidationError("choose a report first")
            return start_run(name, params, db=self.db)

        run = self.status_line.run(
            "Starting the report",
            record,
            done=lambda r: f"Run {r.id} started",
            disable=[self.run_now],
        )
        if run is None:
            return None

        def execute() -> None:
            try:
                execute_run(run, db=self.db)
            except Exception:  # recorded as failed by execute_run where it can be
                log.exception("report run %s failed to execute", run.id)
            finally:
                self.started.pop(run.id, None)

        thread = threading.Thread(target=execute, name=f"marsgis-report-run-{run.id}", daemon=True)
        self.started[run.id] = thread
        thread.start()
        self.status.unobserve(self._on_filter, names="value")
        self.report.unobserve(self._on_filter, names="value")
        try:
            self.status.value = _ALL
            self.report.value = _ALL
        finally:
            self.status.observe(self._on_filter, names="value")
            self.report.observe(self._on_filter, names="value")
        self.refresh(keep=run.id)
        self.status_line.ok(f"Run {run.id} of {name} started; it opens here when done")
        return run

    # ------------------------------------------------------------------ live

    def _on_events(self, events: list[Any]) -> None:
        """Runs started or finished elsewhere, missions renamed: redraw, keeping the open run."""
        if any(e.topic in ("missions", "schedules") for e in events):
            self._load_choices()
        keep = self.run.value
        opened = str(keep) if keep is not None else None
        finished = [
            e
            for e in events
            if e.type in ("report_run.succeeded", "report_run.failed") and e.subject == opened
        ]
        status = None if self.status.value == _ALL else self.status.value
        report = None if self.report.value == _ALL else self.report.value
        try:
            names = sorted({r.report for r in list_runs(limit=self.limit, db=self.db)})
            runs = list_runs(report=report, status=status, limit=self.limit, db=self.db)
        except MarsGISError:
            log.warning("live update: could not reload the runs", exc_info=True)
            return
        self._fill(names, runs, keep)
        for e in finished:
            self.status_line.ok(f"Run {e.subject} {e.type.rsplit('.', 1)[-1]}")
