"""HTML views of report runs for notebooks and the reports dashboard (``dashboards/reports.ipynb``).

Everything here returns self-contained HTML strings: a report is embedded in an ``iframe``
through ``srcdoc`` and offered for download as a ``data:`` URL, so it opens from a dashboard
served anywhere (Voila, behind the hub proxy) without serving the reports folder and without a
request leaving the machine.
"""

from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from marsgis.reports.runs import ReportRun

__all__ = ["download_link", "embed_report", "runs_table"]

_STATUS_COLOURS = {"succeeded": "#1b7f3b", "failed": "#b3261e", "running": "#8a6d00"}
_TABLE_COLUMNS = (
    "id", "report", "schedule", "due_at", "status", "started_at", "duration_s", "parameters",
    "missed", "error",
)  # fmt: skip


def _missing(value: Any) -> bool:
    """None, NaN or NaT."""
    import pandas as pd

    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):  # containers: not a missing scalar
        return False


def _cell(value: object) -> str:
    if _missing(value):
        return "—"
    if hasattr(value, "isoformat"):
        return html.escape(value.isoformat(sep=" ", timespec="seconds"))  # type: ignore[union-attr]
    if isinstance(value, float):
        return f"{value:.1f}"
    return html.escape(str(value))


def runs_table(frame: pd.DataFrame) -> str:
    """An HTML table of :func:`marsgis.reports.runs_frame` rows, status in colour.

    Errors are cut to 200 characters (the full text is on the run).
    """
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in _TABLE_COLUMNS)
    rows = []
    for record in frame.to_dict("records"):
        cells = []
        for column in _TABLE_COLUMNS:
            value = record.get(column)
            if column == "error" and isinstance(value, str) and len(value) > 200:
                value = value[:200] + "…"
            text = _cell(value)
            if column == "status":
                colour = _STATUS_COLOURS.get(str(value), "inherit")
                text = f'<b style="color:{colour}">{text}</b>'
            cells.append(f"<td>{text}</td>")
        rows.append(f'<tr class="marsgis-run" data-run-id="{record["id"]}">{"".join(cells)}</tr>')
    body = "".join(rows) or f'<tr><td colspan="{len(_TABLE_COLUMNS)}">no report runs</td></tr>'
    return (
        '<table class="marsgis-runs" style="border-collapse:collapse;font-size:0.9em">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _report_html(run: ReportRun) -> str | None:
    path = run.html
    if path is None or not path.is_file():
        return None
    return path.read_text(encoding="utf-8")


def embed_report(run: ReportRun, *, height_px: int = 900) -> str:
    """The run's HTML report in an ``iframe`` (``srcdoc``), or a note saying why there is none."""
    page = _report_html(run)
    if page is None:
        reason = (
            "the run is still going"
            if run.status == "running"
            else f"its HTML file {str(run.html)!r} is missing"
            if run.html is not None
            else "the run wrote no HTML"
        )
        error = f"<pre>{html.escape(run.error)}</pre>" if run.error else ""
        return f"<p>No report to show for run {run.id}: {html.escape(reason)}.</p>{error}"
    return (
        f'<iframe title="report run {run.id}" srcdoc="{html.escape(page, quote=True)}" '
        f'style="width:100%;height:{int(height_px)}px;border:1px solid #ccc"></iframe>'
    )


def download_link(run: ReportRun) -> str:
    """An ``<a download>`` link carrying the run's HTML report as a ``data:`` URL ('' if none)."""
    page = _report_html(run)
    if page is None:
        return ""
    data = base64.b64encode(page.encode("utf-8")).decode("ascii")
    name = f"{run.report.rsplit('/', 1)[-1].removesuffix('.ipynb')}-run{run.id}.html"
    return (
        f'<a download="{html.escape(name)}" href="data:text/html;base64,{data}">'
        f"download {html.escape(name)}</a>"
    )
