"""Shared pieces of the dashboards: the status line (busy / done / error), styles, the operator."""

from __future__ import annotations

import getpass
import html
import logging
import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from marsgis.exceptions import MarsGISError

__all__ = ["STYLE", "StatusLine", "header", "operator_name", "table_html"]

log = logging.getLogger("marsgis.viz.dashboards")
T = TypeVar("T")

#: CSS of the dashboards (one ``<style>`` block, inline: nothing is fetched).
STYLE = """<style>
.marsgis-dashboard { font-family: system-ui, sans-serif; font-size: 14px; }
.marsgis-dashboard h2 { margin: 4px 0; }
.marsgis-busy { cursor: progress; }
.marsgis-busy .marsgis-map { opacity: 0.75; }
.marsgis-status { min-height: 22px; padding: 2px 6px; border-radius: 4px; }
.marsgis-status .busy { color: #2c5282; }
.marsgis-status .ok { color: #276749; }
.marsgis-error, .marsgis-status .error { color: #c53030; font-weight: 600; }
.marsgis-spinner { display: inline-block; width: 11px; height: 11px; margin-right: 6px;
  border: 2px solid #bee3f8; border-top-color: #2b6cb0; border-radius: 50%;
  animation: marsgis-spin 0.8s linear infinite; vertical-align: -1px; }
@keyframes marsgis-spin { to { transform: rotate(360deg); } }
.marsgis-table { border-collapse: collapse; margin: 4px 0; }
.marsgis-table th, .marsgis-table td { border-bottom: 1px solid #e2e8f0; padding: 2px 8px;
  text-align: left; vertical-align: top; }
.marsgis-badge { padding: 1px 8px; border-radius: 9px; color: white; font-size: 12px; }
.marsgis-readout-box { background: rgba(255,255,255,0.9); padding: 2px 6px; }
.marsgis-empty { padding: 16px; background: #fffaf0; border: 1px solid #fbd38d; }
</style>"""


def operator_name() -> str:
    """Who is operating: ``JUPYTERHUB_USER`` under JupyterHub, else the OS user."""
    name = os.environ.get("JUPYTERHUB_USER")
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "unknown"


def header(title: str, subtitle: str = "") -> Any:
    """The title block of a dashboard, with the shared styles."""
    import ipywidgets as w

    sub = f"<div style='color:#4a5568'>{html.escape(subtitle)}</div>" if subtitle else ""
    return w.HTML(f"{STYLE}<h2>{html.escape(title)}</h2>{sub}")


def table_html(rows: Sequence[Sequence[Any]], head: Sequence[str] = ()) -> str:
    """An HTML table of escaped cells."""
    out = ["<table class='marsgis-table'>"]
    if head:
        out.append("<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in head) + "</tr>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "".join(out)


class StatusLine:
    """One line that says what a dashboard is doing: busy (with a spinner), done, or an error.

    :meth:`run` wraps every interaction: it shows the busy state, disables the given widgets
    and marks the dashboard busy while the work runs, then shows the result or the error.
    marsgis errors are shown as their message (they say what to change); anything else is
    logged with its traceback and shown as one line, never as a traceback.
    The state is also in the widget's ``data-state`` attribute (``busy``, ``ok``, ``error``).
    """

    def __init__(self) -> None:
        import ipywidgets as w

        self.html = w.HTML("")
        self.html.add_class("marsgis-status")
        self.state = "idle"
        self.message = ""
        self.container: Any = None

    def _set(self, state: str, text: str) -> None:
        self.state = state
        self.message = text
        spinner = "<span class='marsgis-spinner'></span>" if state == "busy" else ""
        self.html.value = (
            f"<div class='{state}' data-state='{state}'>{spinner}{html.escape(text)}</div>"
        )

    def busy(self, text: str) -> None:
        """Show that work is running."""
        self._set("busy", text)

    def ok(self, text: str) -> None:
        """Show a result."""
        self._set("ok", text)

    def error(self, text: str) -> None:
        """Show an error message."""
        self._set("error", text)

    def run(
        self,
        label: str,
        func: Callable[[], T],
        *,
        done: str | Callable[[T], str] = "Done",
        disable: Sequence[Any] = (),
    ) -> T | None:
        """Run ``func`` with the busy state shown; return its result, or None on error."""
        self.busy(f"{label}…")
        states = [(wd, wd.disabled) for wd in disable]
        for wd, _ in states:
            wd.disabled = True
        if self.container is not None:
            self.container.add_class("marsgis-busy")
        try:
            result = func()
        except MarsGISError as exc:
            self.error(str(exc))
            return None
        except Exception as exc:  # the UI boundary: log it, show one line, keep running
            log.exception("%s failed", label)
            self.error(f"{label} failed unexpectedly ({type(exc).__name__}: {exc}); see the log")
            return None
        finally:
            for wd, was in states:
                wd.disabled = was
            if self.container is not None:
                self.container.remove_class("marsgis-busy")
        self.ok(done(result) if callable(done) else done)
        return result
