"""The reports dashboard's widgets: filter the recorded runs, open one's HTML report.

``dashboards/reports.ipynb`` shows :class:`ReportsBrowser` under a static table of the runs;
it works in JupyterLab as well as in Voila.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from marsgis.exceptions import MarsGISError
from marsgis.reports.runs import ReportRun, get_run, list_runs, runs_frame
from marsgis.reports.views import download_link, embed_report, runs_table

if TYPE_CHECKING:
    from marsgis.db import Engine

__all__ = ["ReportsBrowser"]

_ALL = "all"


class ReportsBrowser:
    """Recorded report runs with status and report filters, and a viewer for one run.

    Parameters
    ----------
    limit
        Most runs listed (newest first).
    db
        Database URL, engine, or None for ``MARSGIS_DATABASE_URL``.

    Attributes
    ----------
    widget
        The ipywidgets box to display.
    """

    def __init__(self, *, limit: int = 100, db: str | Engine | None = None) -> None:
        import ipywidgets as w

        self.limit, self.db = limit, db
        self.status = w.ToggleButtons(
            options=[_ALL, "succeeded", "failed", "running"], description="Status"
        )
        self.report = w.Dropdown(options=[_ALL], value=_ALL, description="Report")
        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        self.run = w.Dropdown(options=[], description="Open run", layout={"width": "40em"})
        self.message = w.HTML()
        self.table = w.HTML()
        self.download = w.HTML()
        self.viewer = w.HTML()
        self.runs: list[ReportRun] = []
        self.status.observe(self._on_filter, names="value")
        self.report.observe(self._on_filter, names="value")
        self.run.observe(self._on_run, names="value")
        self.refresh_button.on_click(lambda _button: self.refresh())
        self.widget = w.VBox(
            [
                w.HBox([self.status, self.refresh_button]),
                self.report,
                self.message,
                self.table,
                self.run,
                self.download,
                self.viewer,
            ]
        )
        self.refresh()

    def _on_filter(self, _change: Any) -> None:
        self.refresh()

    def _on_run(self, change: dict[str, Any]) -> None:
        self.show(change["new"])

    def refresh(self) -> None:
        """Reload the runs from the database with the current filters."""
        self.message.value = "<i>loading…</i>"
        try:
            status = None if self.status.value == _ALL else self.status.value
            report = None if self.report.value == _ALL else self.report.value
            names = sorted({r.report for r in list_runs(limit=self.limit, db=self.db)})
            self.runs = list_runs(report=report, status=status, limit=self.limit, db=self.db)
        except MarsGISError as exc:
            self.message.value = f'<b style="color:#b3261e">cannot read the runs: {exc}</b>'
            return
        with self.report.hold_trait_notifications():
            keep = self.report.value if self.report.value in names else _ALL
            self.report.options = [_ALL, *names]
            self.report.value = keep
        self.table.value = runs_table(runs_frame(self.runs))
        options = [
            (f"run {r.id}: {r.report} · {r.status} · {r.started_at:%Y-%m-%d %H:%M:%S} UTC", r.id)
            for r in self.runs
        ]
        first = options[0][1] if options else None
        self.run.unobserve(self._on_run, names="value")
        try:
            self.run.options = options
            self.run.value = first
        finally:
            self.run.observe(self._on_run, names="value")
        self.message.value = f"{len(self.runs)} run(s)"
        self.show(first)

    def show(self, run_id: int | None) -> None:
        """Open run ``run_id``: its HTML report in the viewer and a download link."""
        if run_id is None:
            self.download.value = ""
            self.viewer.value = "<p>No runs to show.</p>"
            return
        try:
            run = get_run(int(run_id), db=self.db)
        except MarsGISError as exc:
            self.viewer.value = f'<b style="color:#b3261e">{exc}</b>'
            return
        self.download.value = download_link(run)
        self.viewer.value = embed_report(run)
