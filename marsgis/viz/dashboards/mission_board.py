"""Mission board: stored missions by status on the map, their plans, and status changes.

>>> from marsgis.viz.dashboards import MissionBoard
>>> board = MissionBoard()        # the configured database (MARSGIS_DATABASE_URL)
>>> board.widget                  # doctest: +SKIP

Filters (status, type) narrow the list and the map. Selecting a mission (in the list or by
its marker) shows its plan (landing ellipses and traverses on the map, from
:func:`marsgis.db.load_plan`), its risk assessment, tasks and status history.
An operator moves it along the lifecycle (:data:`marsgis.db.TRANSITIONS`: only the allowed
next statuses are offered) with :func:`marsgis.db.set_status`, recorded under
``JUPYTERHUB_USER`` or the OS user.

The board acts only on what it shows: a change names the version on screen, and when someone
else changed the mission meanwhile the board reloads it and says what changed and by whom.
A final status (completed, aborted) is never pre-selected and asks for a confirmation.
The caller's access is read once (:func:`marsgis.db.roles.current_access`): roles that may
not change a status (viewers) see the board without the status controls, and why.

The board is live: it follows the event log (:func:`marsgis.events.subscribe`, through
:func:`~marsgis.viz.dashboards._ui.follow`), so a mission created, changed or deleted elsewhere
(another browser, the API, the CLI) shows up within about a second, without a reload; the
selected mission is reloaded when it changes and the status line says who changed it.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from marsgis.viz.dashboards._ui import (
    TERMINAL_STATUSES,
    StatusLine,
    follow,
    header,
    table_html,
    viewer,
)

if TYPE_CHECKING:
    from marsgis.db import Engine

__all__ = ["MissionBoard"]

log_board = logging.getLogger("marsgis.viz.dashboards.mission_board")

_ALL = "all"


class MissionBoard:
    """The mission-board dashboard (``dashboards/mission-board.ipynb``).

    Parameters
    ----------
    db
        Database URL or engine; default the configured one.
    operator
        Name recorded with status changes; default :func:`~._ui.operator_name`.
    """

    def __init__(self, db: str | Engine | None = None, *, operator: str | None = None) -> None:
        import ipywidgets as w

        from marsgis.db import MISSION_STATUSES, MISSION_TYPES, describe_store
        from marsgis.viz.maps import mars_map

        self.db = db
        self.who = viewer(db, operator)
        self.operator = self.who.person
        self.can_change = self.who.change_status
        self.status = StatusLine()
        self.status_filter = w.ToggleButtons(
            options=[_ALL, *MISSION_STATUSES], value=_ALL, description="Status"
        )
        self.status_filter.style.button_width = "96px"
        self.type_filter = w.Dropdown(
            options=[_ALL, *MISSION_TYPES], value=_ALL, description="Type"
        )
        self.missions_list = w.Select(options=[], rows=12, description="Missions")
        self.missions_list.layout.width = "96%"
        self.missions_list.add_class("marsgis-missions")
        self.new_status = w.Dropdown(options=[], description="New status")
        self.new_status.add_class("marsgis-new-status")
        self.note = w.Text(placeholder="note (optional)", description="Note")
        self.apply = w.Button(description="Change status", button_style="warning", icon="")
        self.apply.add_class("marsgis-apply-status")
        self.readonly = w.HTML("")
        self.readonly.add_class("marsgis-readonly")
        self.confirm_text = w.HTML("")
        self.confirm = w.Button(description="Confirm", button_style="danger", icon="")
        self.confirm.add_class("marsgis-confirm-status")
        self.cancel = w.Button(description="Cancel", icon="")
        self.cancel.add_class("marsgis-cancel-status")
        self.confirm_box = w.VBox(
            [self.confirm_text, w.HBox([self.confirm, self.cancel])],
            layout=w.Layout(display="none"),
        )
        self.confirm_box.add_class("marsgis-confirm")
        #: The final status waiting for the operator's confirmation, and its note.
        self.pending: tuple[str, str] | None = None
        self.details = w.HTML("")
        self.empty = w.HTML("")
        self.map = mars_map(center=(0.0, 0.0), zoom=1, height="460px", legends=("relief", "status"))
        #: Whether the map has been fitted to the missions (once, on the first list shown).
        self.fitted = False
        self.missions: list[Any] = []
        self.selected: Any = None

        self.status_filter.observe(lambda _: self.refresh(), names="value")
        self.type_filter.observe(lambda _: self.refresh(), names="value")
        self.missions_list.observe(self._on_list, names="value")
        self.apply.on_click(lambda _: self._on_apply())
        self.confirm.on_click(lambda _: self._on_confirm())
        self.cancel.on_click(lambda _: self.cancel_pending())
        self.new_status.observe(lambda _: self._sync_apply(), names="value")

        change = w.VBox(
            [
                w.HTML("<b>Change status</b>"),
                self.readonly,
                self.new_status,
                self.note,
                self.apply,
                self.confirm_box,
            ],
            layout=w.Layout(border="1px solid #e2e8f0", padding="6px", margin="6px 0"),
        )
        left = w.VBox([self.type_filter, self.missions_list, change], layout=w.Layout(width="36%"))
        right = w.VBox([self.map], layout=w.Layout(width="64%"))
        self.widget = w.VBox(
            [
                header("Mission board", f"Records: {describe_store(db)}", who=self.who),
                self.status_filter,
                self.status.html,
                self.empty,
                w.HBox([left, right]),
                self.details,
            ]
        )
        self.widget.add_class("marsgis-dashboard")
        self.status.container = self.widget
        if not self.can_change:
            self.readonly.value = html.escape(
                self.who.refusal("Changing a mission's status", "operator or scientist")
            )
            for control in (self.new_status, self.note, self.apply):
                control.disabled = True
                control.layout.display = "none"
        self.refresh()
        #: The live feed of the event log (missions, plans, tasks) that keeps the board current.
        self.live = follow("missions,plans,tasks", self._on_events, db, widget=self.widget)

    def close(self) -> None:
        """Stop following the event log and close the widgets."""
        self.live.stop()
        self.widget.close()

    # ------------------------------------------------------------------------- actions

    def refresh(self) -> list[Any]:
        """Reload the missions of the current filters into the list and the map."""

        def load() -> list[Any]:
            from marsgis.db import list_missions

            status = None if self.status_filter.value == _ALL else self.status_filter.value
            kind = None if self.type_filter.value == _ALL else self.type_filter.value
            return list_missions(status=status, mission_type=kind, db=self.db)

        missions = self.status.run(
            "Loading missions", load, done=lambda ms: f"{len(ms)} mission(s) shown"
        )
        if missions is None:
            return self.missions
        self.missions = missions
        self._show_list()
        return missions

    def _show_list(self) -> None:
        from marsgis.db import list_missions
        from marsgis.viz.controls import fit_to
        from marsgis.viz.maps import add_missions

        keep = self.selected.id if self.selected is not None else None
        options = [(f"{m.name} · {m.status} · {m.mission_type}", m.id) for m in self.missions]
        self.missions_list.unobserve(self._on_list, names="value")
        self.missions_list.options = options
        ids = [m.id for m in self.missions]
        self.missions_list.value = keep if keep in ids else None
        self.missions_list.observe(self._on_list, names="value")
        add_missions(self.map, self.missions, on_click=lambda m: self.select(m.id))
        if self.missions and not self.fitted:  # the opening view holds every mission
            fit_to(self.map, [(m.lon, m.lat) for m in self.missions], max_zoom=8)
            self.fitted = True
        if not self.missions and not list_missions(db=self.db):
            self.empty.value = (
                "<div class='marsgis-empty'><b>No missions stored yet.</b> Plan one in the "
                "traverse planner or landing-site explorer, with <code>marsgis mission "
                "create</code> / <code>marsgis mission plan</code>, or in Python with "
                "<code>marsgis.db.add_mission(...)</code>.</div>"
            )
        else:
            self.empty.value = ""
        if keep not in ids:
            self._show(None)

    def _on_list(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self.select(change["new"])

    def select(self, mission_id: str) -> Any:
        """Show a mission: its plan on the map, risk, tasks and status history."""

        def load() -> tuple[Any, list[Any]]:
            from marsgis.db import load_plan, status_history

            plan = load_plan(mission_id, db=self.db)
            return plan, status_history(mission_id, db=self.db)

        loaded = self.status.run(
            "Loading mission", load, done=lambda r: f"Mission {r[0].mission.name!r}"
        )
        if loaded is None:
            return None
        plan, history = loaded
        self.selected = plan.mission
        if self.missions_list.value != plan.mission.id and plan.mission.id in [
            v for _, v in self.missions_list.options
        ]:
            self.missions_list.value = plan.mission.id
        self._show(plan, history)
        return plan

    def change_status(self, status: str, note: str = "") -> Any:
        """Move the selected mission to ``status`` (recorded with :attr:`operator`)."""

        def write() -> Any:
            from marsgis.db import set_status
            from marsgis.exceptions import ValidationError

            if self.selected is None:
                raise ValidationError("select a mission first, then choose its new status")
            return set_status(
                self.selected.id,
                status,
                expected_version=self.selected.version,
                note=note or None,
                changed_by=self.operator,
                db=self.db,
            )

        shown = self.selected
        old = shown.status if shown is not None else None
        self.cancel_pending()
        mission = self.status.run("Changing status", write, disable=[self.apply, self.new_status])
        if mission is None:
            from marsgis.exceptions import ConcurrencyError, NotFoundError

            if shown is not None and isinstance(
                self.status.last_error, ConcurrencyError | NotFoundError
            ):
                self._reload_after_conflict(shown, status)
            return None
        self.note.value = ""
        self.selected = mission
        self.refresh()
        self.select(mission.id)
        self.status.ok(f"{mission.name}: {old} → {mission.status} (by {self.operator}, saved)")
        return mission

    def _reload_after_conflict(self, shown: Any, wanted: str) -> None:
        """Reload the mission the operator acted on and say what changed, by whom."""
        message = self.status.message
        self.refresh()
        plan = self.select(shown.id)
        if plan is None:  # deleted meanwhile: the list no longer has it
            self.selected = None
            self._show(None)
            self.status.error(f"Not changed: {shown.name!r} was deleted meanwhile")
            return
        from marsgis.db import status_history

        now = plan.mission
        changes = []
        if now.status != shown.status:
            last = status_history(now.id, db=self.db)[-1]
            who = last.changed_by or "someone"
            when = last.changed_at.strftime("%Y-%m-%d %H:%M UTC")
            changes.append(f"{who} moved it {shown.status} → {now.status} at {when}")
        fields = [
            f
            for f in ("name", "description", "mission_type", "objectives", "lat", "lon")
            if getattr(now, f) != getattr(shown, f)
        ]
        if fields:
            changes.append(f"its {', '.join(fields)} changed")
        what = "; ".join(changes) or "it was edited elsewhere"
        log_line = f"change to {wanted!r} refused ({message})"
        log_board.info(log_line)
        self.status.error(
            f"Not changed: {now.name!r} was changed meanwhile ({what}). The board now shows "
            f"the current record (version {now.version}); choose again"
        )

    def _sync_apply(self) -> None:
        """The button acts only on a chosen status, for a role that may change it."""
        self.apply.disabled = not (self.can_change and self.new_status.value)
        self.cancel_pending()

    def request_status(self, status: str, note: str = "") -> Any:
        """What "Change status" does: a final status first asks for a confirmation."""
        if status in TERMINAL_STATUSES:
            name = self.selected.name if self.selected is not None else "the mission"
            self.pending = (status, note)
            self.confirm.description = f"Yes, mark {status}"
            self.confirm_text.value = (
                f"<b>Mark {html.escape(name)} as <i>{html.escape(status)}</i>?</b> "
                "This is final: the status cannot change again."
            )
            self.confirm_box.layout.display = ""
            self.status.ask(f"Confirm below: mark {name!r} {status}? This is final")
            return None
        return self.change_status(status, note)

    def _on_confirm(self) -> None:
        if self.pending is not None:
            status, note = self.pending
            self.change_status(status, note)

    def cancel_pending(self) -> None:
        """Forget a final status waiting for confirmation."""
        if self.pending is not None:
            self.pending = None
            self.confirm_box.layout.display = "none"
            self.status.ok("Not changed")

    def _on_apply(self) -> None:
        if not self.can_change:
            self.status.error(
                self.who.refusal("Changing a mission's status", "operator or scientist")
            )
        elif self.new_status.value:
            self.request_status(self.new_status.value, self.note.value)
        elif self.new_status.options:
            self.status.error("choose the new status first")
        else:
            self.status.error("this mission's status is final: nothing to change")

    def _on_events(self, events: list[Any]) -> None:
        """Changes recorded elsewhere: reload the list, and the selected mission if it changed."""
        from marsgis.db import list_missions, load_plan, status_history
        from marsgis.exceptions import MarsGISError, NotFoundError

        touched = {str(e.payload.get("mission_id") or e.subject) for e in events}
        status = None if self.status_filter.value == _ALL else self.status_filter.value
        kind = None if self.type_filter.value == _ALL else self.type_filter.value
        try:
            self.missions = list_missions(status=status, mission_type=kind, db=self.db)
        except MarsGISError:
            log_board.warning("live update: could not reload the missions", exc_info=True)
            return
        shown = self.selected
        self._show_list()
        if shown is None or shown.id not in touched:
            return
        try:
            plan = load_plan(shown.id, db=self.db)
            history = status_history(shown.id, db=self.db)
        except NotFoundError:
            self.selected = None
            self._show(None)
            self.status.error(f"{shown.name!r} was deleted elsewhere")
            return
        except MarsGISError:
            log_board.warning("live update: could not reload %s", shown.id, exc_info=True)
            return
        now = plan.mission
        if now.version == shown.version and self.pending is not None:
            return  # the mission itself is unchanged: keep the confirmation on screen
        self.selected = now
        self._show(plan, history)
        if now.id in [v for _, v in self.missions_list.options]:
            self.missions_list.unobserve(self._on_list, names="value")
            self.missions_list.value = now.id
            self.missions_list.observe(self._on_list, names="value")
        if now.version != shown.version:
            last = [e for e in events if str(e.payload.get("mission_id") or e.subject) == now.id]
            who = (last[-1].actor if last else None) or "someone"
            what = f"{shown.status} → {now.status}" if now.status != shown.status else "edited"
            self.status.ok(f"{now.name!r} changed elsewhere: {what} (by {who}); shown as it is now")

    # ------------------------------------------------------------------------ display

    def _show(self, plan: Any, history: list[Any] | None = None) -> None:
        """Show ``plan`` (or the empty prompt for None): map layers, status choices, details."""
        self._clear_plan_layers()
        self.cancel_pending()
        if plan is None:
            self.details.value = "<i>Select a mission in the list or on the map.</i>"
            self.new_status.options = []
            self.apply.disabled = True
            return
        self._offer_transitions(plan.mission.status)
        self._draw_plan(plan)
        self.details.value = _details_html(plan, history or [])

    def _clear_plan_layers(self) -> None:
        """Remove the previous plan's layers (named ``plan:…``) from the map."""
        for layer in [lay for lay in self.map.layers if lay.name.startswith("plan:")]:
            self.map.remove(layer)

    def _offer_transitions(self, status: str) -> None:
        """Offer only the lifecycle's next statuses after ``status``; none disables the button."""
        from marsgis.db import TRANSITIONS

        allowed = list(TRANSITIONS[status])
        self.new_status.options = allowed
        # never pre-select a final status: one click must not end a mission
        ongoing = [s for s in allowed if s not in TERMINAL_STATUSES]
        self.new_status.value = ongoing[0] if ongoing else None
        self._sync_apply()

    def _draw_plan(self, plan: Any) -> None:
        """Draw the plan's ellipses and traverses and zoom to it with a 1° margin."""
        from marsgis.viz.controls import fit_to
        from marsgis.viz.maps import ellipse_layer, traverse_layer

        for i, ellipse in enumerate(plan.ellipses()):
            self.map.add(ellipse_layer(ellipse, name=f"plan:ellipse {i}"))
        for i, traverse in enumerate(plan.traverses()):
            self.map.add(traverse_layer(traverse, name=f"plan:traverse {i}"))
        (south, west), (north, east) = _plan_extent(plan)
        pad = 1.0  # degrees around the plan: the crater or region it sits in
        fit_to(self.map, (west - pad, south - pad, east + pad, north + pad))


def _plan_extent(plan: Any) -> list[list[float]]:
    """``[[south, west], [north, east]]`` of the mission's target and its plan's artefacts."""
    m = plan.mission
    bounds = [[m.lat, m.lon], [m.lat, m.lon]]
    for a in plan.artefacts:
        w_, s_, e_, n_ = a.geometry.bounds
        bounds = [
            [min(bounds[0][0], s_), min(bounds[0][1], w_)],
            [max(bounds[1][0], n_), max(bounds[1][1], e_)],
        ]
    return bounds


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.0f} %"


def _summary_html(m: Any) -> str:
    """The mission's fields as a table: type, target, scores, objectives, version."""
    return table_html(
        [
            ("type", m.mission_type),
            ("target", f"{m.lat:.4f}°, {m.lon:.4f}°E"),
            ("safety", _pct(m.safety_score)),
            ("science priority", _pct(m.scientific_priority)),
            ("objectives", "; ".join(str(o) for o in m.objectives) or "—"),
            ("version", m.version),
        ]
    )


def _risk_html(risk: dict[str, Any]) -> str:
    """The stored risk assessment: level, score and a table of its components."""
    if not risk:
        return "<i>not assessed</i>"
    comps = risk.get("components", {})
    return (
        f"<b>{html.escape(str(risk.get('level', '?')))}</b> "
        f"(score {float(risk.get('score', 0.0)):.2f})"
        + table_html([(k, f"{float(v):.2f}") for k, v in comps.items()], ("component", "risk"))
    )


def _tasks_html(tasks: Sequence[Any]) -> str:
    """The plan's tasks in order, with their status."""
    if not tasks:
        return "<i>no tasks</i>"
    return table_html([(t.position + 1, t.title, t.status) for t in tasks], ("#", "task", "status"))


def _history_html(history: Sequence[Any]) -> str:
    """The mission's status changes: when, from, to, by whom, note."""
    return table_html(
        [
            (
                h.changed_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
                h.from_status or "—",
                h.to_status,
                h.changed_by or "—",
                h.note or "",
            )
            for h in history
        ],
        ("when", "from", "to", "by", "note"),
    )


def _details_html(plan: Any, history: list[Any]) -> str:
    """The details panel: name and status badge, description, mission, risk, tasks, history."""
    from marsgis.viz.maps import STATUS_COLORS

    m = plan.mission
    color = STATUS_COLORS.get(m.status, "#4a5568")
    plan_items = ", ".join(f"{a.kind} “{a.name}”" for a in plan.artefacts) or "none stored"
    return (
        f"<h3>{html.escape(m.name)} <span class='marsgis-badge' style='background:{color}'"
        f" data-status='{html.escape(m.status)}'>{html.escape(m.status)}</span></h3>"
        f"<p>{html.escape(m.description)}</p>"
        "<div style='display:flex; gap:24px; flex-wrap:wrap'>"
        f"<div><b>Mission</b>{_summary_html(m)}<b>Plan</b>: {html.escape(plan_items)}</div>"
        f"<div><b>Risk</b><br>{_risk_html(m.risk_assessment or {})}</div>"
        f"<div><b>Tasks</b><br>{_tasks_html(plan.tasks)}</div>"
        f"<div><b>Status history</b>{_history_html(history)}</div></div>"
    )
