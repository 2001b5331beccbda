"""Shared pieces of the dashboards: the status line, styles, the operator, live updates.

:func:`follow` keeps a dashboard live on the event log (:mod:`marsgis.events`).
"""

from __future__ import annotations

import asyncio
import getpass
import html
import logging
import os
import threading
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from marsgis.exceptions import MarsGISError

__all__ = [
    "STYLE",
    "TERMINAL_STATUSES",
    "Follower",
    "StatusLine",
    "Viewer",
    "follow",
    "header",
    "operator_name",
    "plain_error",
    "table_html",
    "viewer",
]

#: Mission statuses that are final: moving a mission there asks for a confirmation.
TERMINAL_STATUSES = ("completed", "aborted")
#: What each privilege level may do, in the operator's words.
_LEVEL_WORDS = {
    "owner": "owner (full access)",
    "scientist": "scientist (plans and edits missions)",
    "operator": "operator (changes mission status, runs reports)",
    "viewer": "viewer (read-only)",
    "immigration_officer": "immigration officer (decides visa applications)",
    "station_manager": "station manager (stations, bays, capacity overrides)",
    "spaceline_dispatcher": "spaceline dispatcher (voyages, bay bookings)",
    "colony_official": "colony official (colony capacity)",
    "auditor": "auditor (read-only, audit log)",
    "passenger": "passenger (own application)",
    "none": "no access",
}

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
.marsgis-readonly { color: #744210; background: #fffff0; padding: 2px 6px; }
.marsgis-confirm { border: 2px solid #c53030; padding: 6px; margin: 4px 0; }
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


@dataclass(frozen=True)
class Viewer:
    """Who looks at a dashboard and what their database role lets them do (read once).

    Attributes
    ----------
    person
        The person (``JUPYTERHUB_USER`` or the OS user, or the name given).
    level
        ``owner``, ``scientist``, ``operator``, ``viewer``, a station level
        (``immigration_officer``, ...) or ``none`` (:func:`marsgis.db.roles.current_access`);
        ``unknown`` when it could not be read.
    role
        The database role (None on SpatiaLite).
    change_status, edit_missions
        Whether status changes, and creating or editing missions (saving plans), are allowed.
    run_reports
        Whether running a report now is allowed.
    station_level
        The station level of the role besides a mission level (an operator who also
        dispatches), else None.
    decide, book_bays, read_audit
        Whether visa applications can be decided, docking bays booked, and the station audit
        log read.
    """

    person: str
    level: str
    role: str | None
    change_status: bool
    edit_missions: bool
    run_reports: bool = False
    station_level: str | None = None
    decide: bool = False
    book_bays: bool = False
    read_audit: bool = False

    @property
    def label(self) -> str:
        """``"vera · viewer (read-only)"``: the header's line (both levels when two)."""
        words = [_LEVEL_WORDS.get(self.level, self.level)]
        if self.station_level is not None and self.station_level != self.level:
            words.append(_LEVEL_WORDS.get(self.station_level, self.station_level))
        return " · ".join([self.person, *words])

    def refusal(self, action: str, needs: str) -> str:
        """Why ``action`` is not offered, e.g. "Changing status needs the operator role"."""
        return f"{action} needs the {needs} role; you are signed in as {self.label}"


def viewer(db: Any = None, person: str | None = None) -> Viewer:
    """The :class:`Viewer` of a dashboard on ``db``: its access is read once, here."""
    from marsgis.db.roles import current_access

    name = person or operator_name()
    try:
        access = current_access(db)
    except MarsGISError:
        log.exception("could not read the access of the database role")
        return Viewer(name, "unknown", None, change_status=False, edit_missions=False)
    return Viewer(
        name,
        access.level,
        access.role,
        change_status=access.change_status,
        edit_missions=access.edit_missions,
        run_reports=access.run_reports,
        station_level=access.station_level,
        decide=access.decide,
        book_bays=access.book_bays,
        read_audit=access.read_audit,
    )


def plain_error(label: str, exc: BaseException) -> str:
    """One line for the operator: marsgis' own message, without database internals.

    A refusal for the role, a stale record or any other database failure becomes a sentence
    that says what happened and that nothing was written; the full error goes to the log.
    """
    from marsgis.exceptions import (
        ConcurrencyError,
        DatabaseError,
        NotFoundError,
        PermissionDeniedError,
    )

    if isinstance(exc, NotFoundError):
        return f"{label}: it no longer exists (deleted elsewhere); nothing was written"
    if isinstance(exc, PermissionDeniedError):
        return f"{label}: not allowed for your role; nothing was written"
    if isinstance(exc, ConcurrencyError):
        return (
            f"{label}: someone else changed this record meanwhile; nothing was written. "
            "Review the current record and try again"
        )
    if isinstance(exc, DatabaseError):
        return f"{label}: the database did not accept it; nothing was written (details in the log)"
    return str(exc)


def header(title: str, subtitle: str = "", who: Viewer | None = None) -> Any:
    """The title block of a dashboard, with the shared styles and who is signed in."""
    import ipywidgets as w

    sub = f"<div style='color:#4a5568'>{html.escape(subtitle)}</div>" if subtitle else ""
    person = (
        f"<div class='marsgis-who' data-person='{html.escape(who.person)}' "
        f"data-level='{html.escape(who.level)}'>Signed in: {html.escape(who.label)}</div>"
        if who is not None
        else ""
    )
    return w.HTML(f"{STYLE}<h2>{html.escape(title)}</h2>{sub}{person}")


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
    marsgis errors are shown as their message (they say what to change), database refusals
    as one line without internals (:func:`plain_error`); anything else is logged with its
    traceback and shown as one line, never as a traceback.
    The state is also in the widget's ``data-state`` attribute (``busy``, ``ok``, ``error``).
    """

    def __init__(self) -> None:
        import ipywidgets as w

        self.html = w.HTML("")
        self.html.add_class("marsgis-status")
        self.state = "idle"
        self.message = ""
        self.container: Any = None
        #: The error of the last :meth:`run` that failed (None after a success).
        self.last_error: BaseException | None = None

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

    def ask(self, text: str) -> None:
        """Show a question waiting for the operator (state ``confirm``)."""
        self._set("confirm", text)

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
        self.last_error = None
        try:
            result = func()
        except MarsGISError as exc:
            from marsgis.exceptions import DatabaseError

            self.last_error = exc
            if isinstance(exc, DatabaseError):
                log.warning("%s refused: %s", label, exc)
            self.error(plain_error(label, exc))
            return None
        except Exception as exc:  # the UI boundary: log it, show one line, keep running
            self.last_error = exc
            log.exception("%s failed", label)
            self.error(f"{label} failed unexpectedly ({type(exc).__name__}); see the log")
            return None
        finally:
            for wd, was in states:
                wd.disabled = was
            if self.container is not None:
                self.container.remove_class("marsgis-busy")
        self.ok(done(result) if callable(done) else done)
        return result


class Follower:
    """A daemon thread that follows the event log and hands new events to a dashboard.

    Made by :func:`follow`. Events that arrive together (within ``settle`` seconds) are handed
    over as one list, so a burst (``save_plan`` records several) redraws once. When the
    dashboard was displayed from a kernel (an asyncio loop was running when it was built, as in
    Jupyter and Voila), the callback runs on that loop, between the kernel's own messages, so it
    never races a button's handler; otherwise (plain Python, tests) it runs in the thread,
    under :attr:`lock`.

    The thread stops when :meth:`stop` is called, when the callback's object is garbage
    collected (a bound method is held weakly), or when ``widget`` is closed.

    Attributes
    ----------
    lock
        Held while the callback runs in the thread.
    delivered
        Events handed over so far.
    """

    def __init__(
        self,
        topics: str | Iterable[str],
        on_event: Callable[[list[Any]], object],
        db: Any = None,
        *,
        widget: Any = None,
        settle: float = 0.1,
        wait: float = 0.5,
    ) -> None:
        from marsgis import events

        self._callback: Callable[[], Callable[[list[Any]], object] | None]
        if hasattr(on_event, "__self__") and hasattr(on_event, "__func__"):
            self._callback = weakref.WeakMethod(on_event)  # type: ignore[arg-type]
        else:
            self._callback = lambda: on_event
        self._widget = weakref.ref(widget) if widget is not None else None
        self._settle, self._wait = settle, wait
        self.lock = threading.RLock()
        self.delivered = 0
        self._stop = threading.Event()
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        # subscribed here, before returning: every change after this call is followed
        self._subscription = events.subscribe(topics, db=db)
        self._thread = threading.Thread(
            target=self._run, name="marsgis-dashboard-follow", daemon=True
        )
        self._thread.start()

    @property
    def running(self) -> bool:
        """Whether the thread still follows the log."""
        return self._thread.is_alive()

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop following (the subscription is closed by the thread as it ends)."""
        self._stop.set()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def _gone(self) -> bool:
        if self._stop.is_set() or self._callback() is None:
            return True
        widget = None if self._widget is None else self._widget()
        return self._widget is not None and (widget is None or _closed(widget))

    def _run(self) -> None:
        backoff = 0.5
        if self._loop is None:  # widgets (ipyleaflet's fit_bounds) may ask for a current loop
            asyncio.set_event_loop(asyncio.new_event_loop())
        try:
            while not self._gone():
                try:
                    first = self._subscription.get(timeout=self._wait)
                    if first is None:
                        continue
                    batch = [first]
                    while (more := self._subscription.get(timeout=self._settle)) is not None:
                        batch.append(more)
                        if len(batch) >= 200:
                            break
                    backoff = 0.5
                except MarsGISError:  # the database is away: try again, slower each time
                    log.warning("following the event log failed; retrying", exc_info=True)
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, 10.0)
                    continue
                self._deliver(batch)
        finally:
            self._subscription.close()

    def _deliver(self, batch: list[Any]) -> None:
        loop = self._loop
        if loop is not None and loop.is_running() and not loop.is_closed():
            loop.call_soon_threadsafe(self._call, batch)
        else:
            with self.lock:
                self._call(batch)

    def _call(self, batch: list[Any]) -> None:
        callback = self._callback()
        if callback is None or self._stop.is_set():
            return
        try:
            callback(batch)
        except Exception:  # a live update must never kill the dashboard: log it
            log.exception("updating the dashboard from %d event(s) failed", len(batch))
        self.delivered += len(batch)


def _closed(widget: Any) -> bool:
    """Whether an ipywidget was closed (its comm is gone)."""
    return getattr(widget, "_marsgis_had_comm", False) and getattr(widget, "comm", None) is None


def follow(
    topics: str | Iterable[str],
    on_event: Callable[[list[Any]], object],
    db: Any = None,
    *,
    widget: Any = None,
) -> Follower:
    """Call ``on_event(events)`` with every new event of ``topics`` while a dashboard is open.

    Parameters
    ----------
    topics
        Event topics (:data:`marsgis.events.EVENT_TOPICS`), e.g. ``"missions,plans"``.
    on_event
        Called with a list of :class:`marsgis.events.Event` (in id order) after each change;
        a bound method is held weakly, so a dashboard that is dropped stops being followed.
    db
        The dashboard's database (URL, engine or None for the configured one).
    widget
        The dashboard's top widget: closing it stops the thread.

    Returns
    -------
    Follower
        Call :meth:`Follower.stop` to stop early.
    """
    if widget is not None and getattr(widget, "comm", None) is not None:
        widget._marsgis_had_comm = True
    return Follower(topics, on_event, db, widget=widget)
