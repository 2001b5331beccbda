"""The immigration officer's queue: visa applications to review and decide, with a reason.

>>> from marsgis.viz.dashboards import OfficerQueue
>>> queue = OfficerQueue()       # the configured database (MARSGIS_DATABASE_URL)
>>> queue.widget                 # doctest: +SKIP

The queue lists the applications waiting for an officer (``submitted`` and ``under_review``,
oldest first; other statuses through the filter, :func:`marsgis.db.station.list_applications`).
Opening one shows the passenger, their travel documents (the machine-readable zone re-verified
and the expiry checked for today, :func:`marsgis.station.check_document`), the sponsor, the
colony and its occupancy, and the application's audit trail.

The officer (``JUPYTERHUB_USER`` or the OS user) takes only the officer's steps of the
lifecycle (:data:`marsgis.station.APPLICATION_TRANSITIONS`): start the review, request
information, approve or reject, each with a reason, through
:func:`marsgis.db.station.move_application`, which records the decision in the hash-chained
audit log. Approving or rejecting is final and asks for a confirmation first. The store refuses
what the rules forbid (the officer being the applicant or sponsor, a missing reason, a record
changed meanwhile) and the refusal is shown as one line.

The caller's access is read once (:func:`marsgis.db.roles.current_access`): only roles that may
decide (immigration officers; admins and scientists, whose grants include it) see the decision
controls; the others (auditors, dispatchers, viewers, ...) see the queue read-only, with the
reason, and the header names the person and their role. The audit trail is shown to roles that
may read the audit log (officers, auditors); a refusal is one line, never database internals.

The queue is live: it follows the ``station`` topic of the event log
(:func:`~marsgis.viz.dashboards._ui.follow`), so applications submitted or decided elsewhere
show up within about a second.
"""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from marsgis.viz.dashboards._ui import StatusLine, follow, header, table_html, viewer

if TYPE_CHECKING:
    from marsgis.db import Engine
    from marsgis.station import Colony, VisaApplication

__all__ = ["DECISION_WORDS", "QUEUE_FILTERS", "OfficerQueue"]

log = logging.getLogger("marsgis.viz.dashboards.officer_queue")

#: The officer's steps, in the officer's words.
DECISION_WORDS = {
    "under_review": "Start the review",
    "info_requested": "Request information",
    "approved": "Approve",
    "rejected": "Reject",
}
#: Filter name -> the application statuses it lists.
QUEUE_FILTERS = {
    "to decide": ("submitted", "under_review"),
    "info requested": ("info_requested",),
    "approved": ("approved",),
    "rejected": ("rejected",),
    "all": (),
}
#: Decisions that are final (they ask for a confirmation).
FINAL_DECISIONS = ("approved", "rejected")
_STATUS_COLORS = {
    "draft": "#718096",
    "submitted": "#2b6cb0",
    "under_review": "#805ad5",
    "info_requested": "#b7791f",
    "approved": "#2f855a",
    "rejected": "#c53030",
    "withdrawn": "#4a5568",
}


class OfficerQueue:
    """The officer's queue dashboard (``dashboards/station-officer-queue.ipynb``).

    Parameters
    ----------
    db
        Database URL or engine; default the configured one.
    officer
        Name recorded with decisions; default :func:`~._ui.operator_name`.
    """

    def __init__(self, db: str | Engine | None = None, *, officer: str | None = None) -> None:
        import ipywidgets as w

        from marsgis.db import describe_store

        self.db = db
        self.who = viewer(db, officer)
        self.officer = self.who.person
        #: Whether the caller's role may decide (read once; the database still decides).
        self.can_decide = self.who.decide
        self.status = StatusLine()
        self.readonly = w.HTML("")
        self.readonly.add_class("marsgis-readonly")
        self.filter = w.ToggleButtons(
            options=list(QUEUE_FILTERS), value="to decide", description="Show"
        )
        self.filter.style.button_width = "120px"
        self.queue = w.Select(options=[], rows=16, description="Queue")
        self.queue.layout.width = "96%"
        self.queue.add_class("marsgis-applications")
        self.decision = w.Dropdown(options=[], description="Decision")
        self.decision.add_class("marsgis-decision")
        self.reason = w.Textarea(placeholder="reason (required; recorded in the audit log)")
        self.reason.layout.width = "96%"
        self.reason.add_class("marsgis-reason")
        self.apply = w.Button(description="Record decision", button_style="warning", icon="")
        self.apply.add_class("marsgis-decide")
        self.confirm_text = w.HTML("")
        self.confirm = w.Button(description="Confirm", button_style="danger", icon="")
        self.confirm.add_class("marsgis-confirm-decision")
        self.cancel = w.Button(description="Cancel", icon="")
        self.cancel.add_class("marsgis-cancel-decision")
        self.confirm_box = w.VBox(
            [self.confirm_text, w.HBox([self.confirm, self.cancel])],
            layout=w.Layout(display="none"),
        )
        self.confirm_box.add_class("marsgis-confirm")
        #: The final decision waiting for the officer's confirmation, and its reason.
        self.pending: tuple[str, str] | None = None
        self.details = w.HTML("<i>Open an application from the queue.</i>")
        self.details.add_class("marsgis-application")
        self.applications: list[VisaApplication] = []
        self.colonies: dict[int, Colony] = {}
        self.selected: VisaApplication | None = None

        self.filter.observe(lambda _: self.refresh(), names="value")
        self.queue.observe(self._on_list, names="value")
        self.decision.observe(lambda _: self.cancel_pending(), names="value")
        self.apply.on_click(lambda _: self._on_apply())
        self.confirm.on_click(lambda _: self._on_confirm())
        self.cancel.on_click(lambda _: self.cancel_pending())

        decide = w.VBox(
            [
                w.HTML(f"<b>Decide</b> (as {html.escape(self.officer)})"),
                self.readonly,
                self.decision,
                self.reason,
                self.apply,
                self.confirm_box,
            ],
            layout=w.Layout(border="1px solid #e2e8f0", padding="6px", margin="6px 0"),
        )
        left = w.VBox([self.queue, decide], layout=w.Layout(width="40%"))
        right = w.VBox([self.details], layout=w.Layout(width="60%", padding="0 0 0 12px"))
        self.widget = w.VBox(
            [
                header(
                    "Immigration officer's queue",
                    f"Visa applications · records: {describe_store(db)}",
                    who=self.who,
                ),
                self.filter,
                self.status.html,
                w.HBox([left, right]),
            ]
        )
        self.widget.add_class("marsgis-dashboard")
        self.status.container = self.widget
        if not self.can_decide:
            self.readonly.value = html.escape(_decide_refusal(self.who))
            for control in (self.decision, self.reason, self.apply):
                control.disabled = True
                control.layout.display = "none"
        self.refresh()
        self._show(None)
        #: The live feed of the event log (station) that keeps the queue current.
        self.live = follow("station", self._on_events, db, widget=self.widget)

    def close(self) -> None:
        """Stop following the event log and close the widgets."""
        self.live.stop()
        self.widget.close()

    # ------------------------------------------------------------------------- actions

    def _load(self) -> tuple[list[VisaApplication], dict[int, Colony]]:
        from marsgis.db.station import list_applications, list_colonies

        statuses = QUEUE_FILTERS[self.filter.value]
        if statuses:
            apps = [a for s in statuses for a in list_applications(status=s, db=self.db)]
            apps.sort(key=lambda a: (a.created_at, a.id))
        else:
            apps = list_applications(db=self.db)
        return apps, {c.id: c for c in list_colonies(db=self.db)}

    def refresh(self) -> list[VisaApplication]:
        """Reload the applications of the current filter into the queue."""
        loaded = self.status.run(
            "Loading applications", self._load, done=lambda r: f"{len(r[0])} application(s)"
        )
        if loaded is None:
            return self.applications
        self.applications, self.colonies = loaded
        self._show_list()
        return self.applications

    def _label(self, a: VisaApplication) -> str:
        colony = self.colonies.get(a.colony_id)
        where = colony.name if colony is not None else f"colony {a.colony_id}"
        return f"#{a.id} · {a.applicant} · {where} · {a.status}"

    def _show_list(self) -> None:
        keep = self.selected.id if self.selected is not None else None
        self.queue.unobserve(self._on_list, names="value")
        self.queue.options = [(self._label(a), a.id) for a in self.applications]
        ids = [a.id for a in self.applications]
        self.queue.value = keep if keep in ids else None
        self.queue.observe(self._on_list, names="value")

    def _on_list(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self.open(change["new"])

    def open(self, application_id: int) -> VisaApplication | None:
        """Show an application: passenger, documents, sponsor, colony and audit trail."""

        def load() -> tuple[Any, ...]:
            from marsgis.db.station import (
                get_application,
                get_colony,
                get_passenger,
                list_audit,
                passenger_documents,
            )
            from marsgis.station import check_document

            app = get_application(application_id, db=self.db)
            today = datetime.now(UTC).date()
            checks = [
                check_document(d, on=today)
                for d in passenger_documents(app.passenger_id, db=self.db)
            ]
            audit = (
                list_audit(subject_type="visa_application", subject_id=app.id, db=self.db)
                if self.who.read_audit
                else None  # the trail's reasons are for officers and auditors
            )
            return (
                app,
                get_passenger(app.passenger_id, db=self.db),
                checks,
                get_colony(app.colony_id, db=self.db),
                audit,
            )

        loaded = self.status.run(
            "Opening application", load, done=lambda r: f"Application #{r[0].id} ({r[0].status})"
        )
        if loaded is None:
            return None
        app = loaded[0]
        self.selected = app
        if self.queue.value != app.id and app.id in [v for _, v in self.queue.options]:
            self.queue.unobserve(self._on_list, names="value")
            self.queue.value = app.id
            self.queue.observe(self._on_list, names="value")
        self._show(loaded)
        return app

    def decide(self, status: str, reason: str = "") -> VisaApplication | None:
        """Move the open application to ``status`` with ``reason``, as :attr:`officer`."""

        def write() -> VisaApplication:
            from marsgis.db.station import move_application
            from marsgis.exceptions import ValidationError

            if self.selected is None:
                raise ValidationError("open an application from the queue first, then decide")
            return move_application(
                self.selected.id,
                status,
                actor=self.officer,
                expected_version=self.selected.version,
                reason=reason.strip() or None,
                db=self.db,
            )

        shown = self.selected
        self.cancel_pending()
        word = DECISION_WORDS.get(status, status)
        app = self.status.run(word, write, disable=[self.apply, self.decision])
        if app is None:
            from marsgis.exceptions import ConcurrencyError

            if shown is not None and isinstance(self.status.last_error, ConcurrencyError):
                self._reload_after_conflict(shown)
            return None
        self.reason.value = ""
        self.refresh()
        self.open(app.id)
        self.status.ok(
            f"Application #{app.id}: {shown.status if shown else '?'} → {app.status} "
            f"(by {self.officer}, recorded in the audit log)"
        )
        return app

    def _reload_after_conflict(self, shown: VisaApplication) -> None:
        """Reload the application the officer acted on and say what changed, by whom."""
        from marsgis.db.station import list_audit

        self.refresh()
        now = self.open(shown.id)
        if now is None:
            return
        trail = list_audit(subject_type="visa_application", subject_id=shown.id, db=self.db)
        who = trail[-1].actor if trail else "someone"
        change = f"{shown.status} → {now.status}" if now.status != shown.status else "edited"
        self.status.error(
            f"Not recorded: application #{shown.id} was changed meanwhile ({change}, by {who}). "
            f"It is shown as it is now (version {now.version}); decide again"
        )

    def request_decision(self, status: str, reason: str = "") -> VisaApplication | None:
        """What "Record decision" does: a final decision first asks for a confirmation."""
        if status in FINAL_DECISIONS:
            ident = self.selected.id if self.selected is not None else "?"
            self.pending = (status, reason)
            self.confirm.description = f"Yes, {DECISION_WORDS[status].lower()}"
            self.confirm_text.value = (
                f"<b>{html.escape(DECISION_WORDS[status])} application #{ident}?</b> "
                "This is final and is recorded in the audit log with your reason."
            )
            self.confirm_box.layout.display = ""
            self.status.ask(f"Confirm below: {DECISION_WORDS[status].lower()} #{ident}? Final")
            return None
        return self.decide(status, reason)

    def _on_apply(self) -> None:
        if not self.can_decide:
            self.status.error(_decide_refusal(self.who))
        elif self.selected is None:
            self.status.error("open an application from the queue first")
        elif self.decision.value:
            self.request_decision(self.decision.value, self.reason.value)
        else:
            self.status.error(
                f"application #{self.selected.id} is {self.selected.status}: no officer's "
                "decision is open for it"
            )

    def _on_confirm(self) -> None:
        if self.pending is not None:
            status, reason = self.pending
            self.decide(status, reason)

    def cancel_pending(self) -> None:
        """Forget a final decision waiting for confirmation."""
        if self.pending is not None:
            self.pending = None
            self.confirm_box.layout.display = "none"
            self.status.ok("Nothing recorded")

    def _on_events(self, events: list[Any]) -> None:
        """Changes recorded elsewhere: reload the queue, and the open application if touched."""
        from marsgis.exceptions import MarsGISError

        try:
            self.applications, self.colonies = self._load()
        except MarsGISError:
            log.warning("live update: could not reload the applications", exc_info=True)
            return
        self._show_list()
        shown = self.selected
        if shown is None or self.pending is not None:
            return  # keep a confirmation on screen: the decision names the version it saw
        newer = [
            e
            for e in events
            if e.subject == f"visa_application:{shown.id}"
            and int(e.payload.get("version", shown.version + 1)) > shown.version
        ]
        if newer and self.open(shown.id) is not None and self.selected is not None:
            now = self.selected
            self.status.ok(
                f"Application #{shown.id} changed elsewhere: {shown.status} → {now.status} "
                f"(by {newer[-1].actor or 'someone'})"
            )

    # ------------------------------------------------------------------------ display

    def _show(self, loaded: tuple[Any, ...] | None) -> None:
        from marsgis.station import APPLICATION_TRANSITIONS

        self.cancel_pending()
        if loaded is None:
            self.details.value = "<i>Open an application from the queue.</i>"
            self.decision.options = []
            self.apply.disabled = True
            return
        app = loaded[0]
        steps = [s for s, who in APPLICATION_TRANSITIONS[app.status].items() if who == "officer"]
        self.decision.options = [(DECISION_WORDS.get(s, s), s) for s in steps]
        # never pre-select a final decision: one click must not decide an application
        ongoing = [s for s in steps if s not in FINAL_DECISIONS]
        self.decision.value = ongoing[0] if ongoing else None
        self.apply.disabled = not (steps and self.can_decide)
        self.details.value = _details_html(*loaded)


def _decide_refusal(who: Any) -> str:
    return str(who.refusal("Deciding visa applications", "immigration officer"))


def _badge(status: str) -> str:
    color = _STATUS_COLORS.get(status, "#4a5568")
    return (
        f"<span class='marsgis-badge' style='background:{color}' "
        f"data-status='{html.escape(status)}'>{html.escape(status)}</span>"
    )


def _details_html(
    app: Any, passenger: Any, checks: list[Any], colony: Any, audit: list[Any] | None
) -> str:
    """The application: passenger, documents and their checks, sponsor, colony, audit trail."""
    person = table_html(
        [
            ("name", f"{passenger.surname}, {passenger.given_names}"),
            ("nationality", passenger.nationality),
            ("born", passenger.birth_date.isoformat()),
            ("sex", "X (unspecified)" if passenger.sex in ("<", "X") else passenger.sex),
            ("applicant", app.applicant),
            ("sponsor", app.sponsor or "none"),
        ]
    )
    if checks:
        rows = [
            (
                c.document.document_number,
                c.document.issuing_state,
                c.document.expires_on.isoformat(),
                "verified" if c.mrz_valid else "FAILS",
                "EXPIRED" if c.expired else f"valid on {c.on.isoformat()}",
            )
            for c in checks
        ]
        docs = table_html(rows, ("number", "state", "expires", "MRZ check digits", "validity"))
        problems = [p for c in checks for p in c.problems]
        if problems:
            docs += "".join(f"<div class='marsgis-error'>{html.escape(p)}</div>" for p in problems)
        docs += "".join(
            f"<pre style='font-size:11px;margin:2px 0'>{html.escape(c.document.mrz)}</pre>"
            for c in checks
        )
    else:
        docs = "<div class='marsgis-error'>no travel document registered</div>"
    share = colony.population / colony.capacity if colony.capacity else 0.0
    place = table_html(
        [
            ("colony", colony.name),
            ("site", colony.site),
            ("occupancy", f"{colony.population} / {colony.capacity} ({100 * share:.0f} %)"),
        ]
    )
    trail = (
        "<div class='marsgis-no-audit'><i>The audit trail is shown to immigration officers "
        "and auditors.</i></div>"
        if audit is None
        else table_html(
            [
                (
                    r.at.strftime("%Y-%m-%d %H:%M:%S UTC"),
                    r.actor,
                    r.role,
                    r.action,
                    f"{r.details.get('from', '')} → {r.details.get('to', '')}"
                    if "to" in r.details
                    else "",
                    r.reason or "",
                )
                for r in audit
            ],
            ("when", "who", "role", "action", "change", "reason"),
        )
    )
    decided = (
        f"<p>Decided by <b>{html.escape(app.decided_by)}</b>: {html.escape(app.reason or '')}</p>"
        if app.decided_by
        else (f"<p>Last reason: {html.escape(app.reason)}</p>" if app.reason else "")
    )
    return (
        f"<h3 data-application-id='{app.id}' data-version='{app.version}'>Application #{app.id} "
        f"{_badge(app.status)}</h3>{decided}"
        "<div style='display:flex;gap:24px;flex-wrap:wrap'>"
        f"<div><b>Passenger</b>{person}</div><div><b>Colony</b>{place}</div></div>"
        f"<b>Travel documents</b>{docs}<b>Audit trail</b>{trail}"
    )
