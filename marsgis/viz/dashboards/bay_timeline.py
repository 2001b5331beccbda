"""The dispatcher's bay timeline: bookings per docking bay over time, and booking a bay.

>>> from marsgis.viz.dashboards import BayTimeline
>>> timeline = BayTimeline()     # the configured database (MARSGIS_DATABASE_URL)
>>> timeline.widget              # doctest: +SKIP

One row per docking bay (of one station or all), one bar per booking over
``[starts_at, ends_at)`` (:func:`marsgis.db.station.list_bookings`, drawn by
:func:`marsgis.viz.timelines.timeline_html`), over a window of days the dispatcher moves.
The form books a bay for a voyage (optional) and a period
(:func:`marsgis.db.station.book_bay`, recorded under ``JUPYTERHUB_USER`` or the OS user):
choosing a voyage fills in its arrival time. A period that overlaps another booking of the bay
cannot be stored: the store refuses it (the exclusion constraint on PostGIS, the serialised
check on SpatiaLite) and the refusal, naming the booking in the way, is shown as one line.

The caller's access is read once (:func:`marsgis.db.roles.current_access`): the booking form
is offered to roles that may book (spaceline dispatchers, station managers; admins and
scientists); the others see the timeline read-only, with the reason, and the header names the
person and their role. A refusal is one line, never database internals.

The timeline is live: it follows the ``station`` topic of the event log, so bookings made
elsewhere appear within about a second.
"""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from marsgis.viz.dashboards._ui import StatusLine, follow, header, table_html, viewer

if TYPE_CHECKING:
    from marsgis.db import Engine
    from marsgis.station import Bay, BayBooking, Station, Vessel, Voyage

__all__ = ["WINDOW_DAYS", "BayTimeline"]

log = logging.getLogger("marsgis.viz.dashboards.bay_timeline")

#: The window lengths offered, in days.
WINDOW_DAYS = (3, 7, 14, 30, 60)
_ALL = 0
_NO_VOYAGE = 0
_TIME_FORMAT = "%Y-%m-%d %H:%M"


def _book_refusal(who: Any) -> str:
    return str(who.refusal("Booking a docking bay", "spaceline dispatcher or station manager"))


def parse_utc(text: str) -> datetime:
    """``"2031-05-03 06:00"`` (UTC) as an aware datetime; a readable error otherwise."""
    from marsgis.exceptions import ValidationError

    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValidationError(
            f"start {text!r} is not a time; write it as YYYY-MM-DD HH:MM (UTC), "
            "e.g. 2031-05-03 06:00"
        ) from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class BayTimeline:
    """The bay-timeline dashboard (``dashboards/station-bay-timeline.ipynb``).

    Parameters
    ----------
    db
        Database URL or engine; default the configured one.
    dispatcher
        Name recorded with bookings; default :func:`~._ui.operator_name`.
    """

    def __init__(self, db: str | Engine | None = None, *, dispatcher: str | None = None) -> None:
        import ipywidgets as w

        from marsgis.db import describe_store

        self.db = db
        self.who = viewer(db, dispatcher)
        self.dispatcher = self.who.person
        #: Whether the caller's role may book bays (read once; the database still decides).
        self.can_book = self.who.book_bays
        self.status = StatusLine()
        self.readonly = w.HTML("")
        self.readonly.add_class("marsgis-readonly")
        self.stations: dict[int, Station] = {}
        self.bays: list[Bay] = []
        self.vessels: dict[int, Vessel] = {}
        self.voyages: list[Voyage] = []
        self.bookings: list[BayBooking] = []
        #: The first instant the timeline shows (UTC midnight).
        self.start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)

        self.station = w.Dropdown(options=[("all stations", _ALL)], description="Station")
        self.station.add_class("marsgis-station")
        self.days = w.Dropdown(options=list(WINDOW_DAYS), value=7, description="Days")
        self.days.layout.width = "160px"
        self.earlier = w.Button(description="◀ earlier", icon="")
        self.later = w.Button(description="later ▶", icon="")
        self.window = w.HTML("")
        self.timeline = w.HTML("")
        self.timeline.add_class("marsgis-bay-timeline")
        self.table = w.HTML("")
        self.bay = w.Dropdown(options=[], description="Bay")
        self.bay.add_class("marsgis-book-bay")
        self.voyage = w.Dropdown(options=[("no voyage", _NO_VOYAGE)], description="Voyage")
        self.voyage.layout.width = "420px"
        self.voyage.add_class("marsgis-book-voyage")
        self.starts = w.Text(placeholder="YYYY-MM-DD HH:MM (UTC)", description="Starts")
        self.starts.add_class("marsgis-book-start")
        self.hours = w.BoundedIntText(value=6, min=1, max=24 * 14, description="Hours")
        self.hours.layout.width = "160px"
        self.hours.add_class("marsgis-book-hours")
        self.book_button = w.Button(description="Book bay", button_style="primary", icon="")
        self.book_button.add_class("marsgis-book")

        self.station.observe(lambda _: self._redraw(), names="value")
        self.days.observe(lambda _: self._redraw(), names="value")
        self.earlier.on_click(lambda _: self.shift(-1))
        self.later.on_click(lambda _: self.shift(1))
        self.voyage.observe(self._on_voyage, names="value")
        self.book_button.on_click(lambda _: self._on_book())

        form = w.VBox(
            [
                w.HTML(f"<b>Book a bay</b> (as {html.escape(self.dispatcher)})"),
                self.readonly,
                w.HBox([self.bay, self.voyage]),
                w.HBox([self.starts, self.hours, self.book_button]),
            ],
            layout=w.Layout(border="1px solid #e2e8f0", padding="6px", margin="6px 0"),
        )
        self.widget = w.VBox(
            [
                header(
                    "Docking bay timeline",
                    f"Bookings per bay · records: {describe_store(db)}",
                    who=self.who,
                ),
                w.HBox([self.station, self.days, self.earlier, self.later, self.window]),
                self.status.html,
                self.timeline,
                form,
                self.table,
            ]
        )
        self.widget.add_class("marsgis-dashboard")
        self.status.container = self.widget
        if not self.can_book:
            self.readonly.value = html.escape(_book_refusal(self.who))
            for control in (self.bay, self.voyage, self.starts, self.hours, self.book_button):
                control.disabled = True
                control.layout.display = "none"
        if self.refresh() and self.bookings:
            first = min(b.starts_at for b in self.bookings)
            self.start = first.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            self._redraw()
        #: The live feed of the event log (station) that keeps the timeline current.
        self.live = follow("station", self._on_events, db, widget=self.widget)

    def close(self) -> None:
        """Stop following the event log and close the widgets."""
        self.live.stop()
        self.widget.close()

    # ------------------------------------------------------------------------- actions

    def _load(self) -> tuple[Any, ...]:
        from marsgis.db.station import (
            list_bays,
            list_bookings,
            list_stations,
            list_vessels,
            list_voyages,
        )

        return (
            {s.id: s for s in list_stations(db=self.db)},
            list_bays(db=self.db),
            {v.id: v for v in list_vessels(db=self.db)},
            list_voyages(db=self.db),
            list_bookings(db=self.db),
        )

    def refresh(self) -> bool:
        """Reload stations, bays, voyages and bookings, and redraw."""
        loaded = self.status.run(
            "Loading bookings", self._load, done=lambda r: f"{len(r[4])} booking(s) stored"
        )
        if loaded is None:
            return False
        self.stations, self.bays, self.vessels, self.voyages, self.bookings = loaded
        self._fill_choices()
        self._redraw()
        return True

    def shift(self, direction: int) -> None:
        """Move the window by half its length, earlier (-1) or later (+1)."""
        self.start += timedelta(days=direction * max(1, int(self.days.value) // 2))
        self._redraw()

    def show_period(self, starts_at: datetime, ends_at: datetime) -> None:
        """Move the window so that it shows ``[starts_at, ends_at)`` (if it does not already)."""
        end = self.start + timedelta(days=int(self.days.value))
        if self.start <= starts_at and ends_at <= end:
            return
        self.start = starts_at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        self.start -= timedelta(days=1)
        self._redraw()

    def book(
        self,
        bay_id: int,
        starts_at: datetime,
        ends_at: datetime,
        voyage_id: int | None = None,
    ) -> BayBooking | None:
        """Book ``bay_id`` over ``[starts_at, ends_at)`` (for a voyage), as :attr:`dispatcher`."""

        def write() -> BayBooking:
            from marsgis.db.station import book_bay

            return book_bay(
                bay_id,
                starts_at=starts_at,
                ends_at=ends_at,
                voyage_id=voyage_id,
                actor=self.dispatcher,
                db=self.db,
            )

        booking = self.status.run("Booking the bay", write, disable=[self.book_button])
        if booking is None:
            return None
        self.refresh()
        self.show_period(booking.starts_at, booking.ends_at)
        self.status.ok(
            f"Booked {self._bay_label(booking.bay_id)} from "
            f"{booking.starts_at.strftime(_TIME_FORMAT)} to "
            f"{booking.ends_at.strftime(_TIME_FORMAT)} UTC (booking {booking.id}, by "
            f"{self.dispatcher})"
        )
        return booking

    def _on_book(self) -> None:
        from marsgis.exceptions import ValidationError

        if not self.can_book:
            self.status.error(_book_refusal(self.who))
            return
        if not self.bay.value:
            self.status.error("choose a bay first")
            return
        try:
            start = parse_utc(self.starts.value)
        except ValidationError as exc:
            self.status.error(str(exc))
            return
        end = start + timedelta(hours=int(self.hours.value))
        self.book(int(self.bay.value), start, end, int(self.voyage.value) or None)

    def _on_voyage(self, change: dict[str, Any]) -> None:
        voyage = next((v for v in self.voyages if v.id == change["new"]), None)
        if voyage is not None:
            self.starts.value = voyage.arrival_start.astimezone(UTC).strftime(_TIME_FORMAT)

    def _on_events(self, events: list[Any]) -> None:
        """Bookings (or bays, voyages) recorded elsewhere: reload and redraw."""
        from marsgis.exceptions import MarsGISError

        kinds = {"bay_booking", "bay", "station", "voyage", "vessel", "seeded"}
        if not any(e.subject.partition(":")[0] in kinds for e in events):
            return
        try:
            self.stations, self.bays, self.vessels, self.voyages, self.bookings = self._load()
        except MarsGISError:
            log.warning("live update: could not reload the bookings", exc_info=True)
            return
        self._fill_choices()
        self._redraw()

    # ------------------------------------------------------------------------ display

    def _bay_label(self, bay_id: int) -> str:
        bay = next((b for b in self.bays if b.id == bay_id), None)
        if bay is None:
            return f"bay {bay_id}"
        station = self.stations.get(bay.station_id)
        return f"{station.name if station else f'station {bay.station_id}'} {bay.code}"

    def _voyage_label(self, voyage_id: int | None) -> str:
        if voyage_id is None:
            return "—"
        voyage = next((v for v in self.voyages if v.id == voyage_id), None)
        if voyage is None:
            return f"voyage {voyage_id}"
        vessel = self.vessels.get(voyage.vessel_id)
        return f"{vessel.name if vessel else f'vessel {voyage.vessel_id}'} (voyage {voyage.id})"

    def _fill_choices(self) -> None:
        keep_station, keep_bay, keep_voyage = self.station.value, self.bay.value, self.voyage.value
        self.station.options = [
            ("all stations", _ALL),
            *((s.name, s.id) for s in self.stations.values()),
        ]
        self.station.value = keep_station if keep_station in self.stations else _ALL
        self.bay.options = [
            (f"{self._bay_label(b.id)} ({', '.join(b.vessel_classes)})", b.id) for b in self.bays
        ]
        if keep_bay in [b.id for b in self.bays]:
            self.bay.value = keep_bay
        voyages = []
        for v in self.voyages:
            vessel = self.vessels.get(v.vessel_id)
            cls = vessel.vessel_class if vessel else "?"
            when = v.arrival_start.astimezone(UTC).strftime(_TIME_FORMAT)
            voyages.append((f"{self._voyage_label(v.id)} · {cls} · {v.origin} · {when}", v.id))
        self.voyage.unobserve(self._on_voyage, names="value")
        self.voyage.options = [("no voyage", _NO_VOYAGE), *voyages]
        self.voyage.value = keep_voyage if keep_voyage in [v.id for v in self.voyages] else 0
        self.voyage.observe(self._on_voyage, names="value")

    def _redraw(self) -> None:
        from marsgis.viz.timelines import Bar, timeline_html

        days = int(self.days.value)
        end = self.start + timedelta(days=days)
        bays = [b for b in self.bays if self.station.value in (_ALL, b.station_id)]
        shown = {b.id for b in bays}
        rows = [(str(b.id), self._bay_label(b.id)) for b in bays]
        bars = [
            Bar(
                str(k.bay_id),
                k.starts_at,
                k.ends_at,
                self._voyage_label(k.voyage_id).split(" (")[0]
                if k.voyage_id
                else f"held by {k.booked_by}",
                {"booking-id": k.id, "bay-id": k.bay_id},
            )
            for k in self.bookings
            if k.bay_id in shown
        ]
        self.window.value = (
            f"<span style='line-height:32px;margin-left:8px'>{self.start:%Y-%m-%d} – "
            f"{end:%Y-%m-%d} UTC</span>"
        )
        if not rows:
            self.timeline.value = (
                "<div class='marsgis-empty'><b>No docking bays stored yet.</b> Build the demo "
                "station with <code>marsgis station seed</code>, or add bays with "
                "<code>marsgis.db.station.add_bay(...)</code>.</div>"
            )
        else:
            self.timeline.value = timeline_html(rows, bars, start=self.start, days=days)
        within = [
            k
            for k in self.bookings
            if k.bay_id in shown and k.ends_at > self.start and k.starts_at < end
        ]
        self.table.value = "<b>Bookings in the window</b>" + table_html(
            [
                (
                    k.id,
                    self._bay_label(k.bay_id),
                    self._voyage_label(k.voyage_id),
                    k.starts_at.astimezone(UTC).strftime(_TIME_FORMAT),
                    k.ends_at.astimezone(UTC).strftime(_TIME_FORMAT),
                    k.booked_by,
                )
                for k in within
            ],
            ("booking", "bay", "voyage", "from (UTC)", "to (UTC)", "booked by"),
        )
