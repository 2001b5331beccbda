"""Arrivals and occupancy: a day's arrivals by voyage, arrival flows, an occupancy forecast.

Pure functions over a :class:`~marsgis.station.StationSnapshot` (read from the store with
:func:`marsgis.db.station.station_snapshot`); the ``station-arrivals`` report and the
``station-analytics`` notebook call them and render what they return.

* :func:`arrivals_summary` — the voyages arriving on one UTC day: passengers on each manifest,
  admitted, refused, sent to secondary inspection, still undecided; the day's totals; and every
  colony's occupancy (capacity, population, free places).
* :func:`voyage_table` — the same counts for every voyage, whatever its day.
* :func:`arrival_flows` — admissions per arrival day and colony.
* :func:`occupancy_forecast` — each colony's population projected voyage by voyage from the
  passengers still undecided on the manifests of its voyages, at the colony's admission rate so
  far, never above its capacity.

A voyage's colony is the colony of the station whose bay it is booked into (the decisions of
its passengers name the colony when it has no booking). An entry event counts on the UTC day of
its ``arrival_at``.

>>> from datetime import UTC, datetime
>>> from marsgis.station import StationSnapshot
>>> summary = arrivals_summary(StationSnapshot(taken_at=datetime(2031, 5, 1, tzinfo=UTC)), "2031-05-01")
>>> summary.day.isoformat(), summary.totals["voyages"], summary.totals["admitted"]
('2031-05-01', 0, 0)
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from marsgis.exceptions import ValidationError
from marsgis.station.lifecycle import ENTRY_OUTCOMES
from marsgis.station.records import EntryEvent, StationSnapshot, Voyage

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FORECAST_COLUMNS",
    "OCCUPANCY_COLUMNS",
    "VOYAGE_COLUMNS",
    "ArrivalsSummary",
    "arrival_flows",
    "arrivals_summary",
    "latest_arrival_day",
    "occupancy_forecast",
    "report_day",
    "voyage_colonies",
    "voyage_table",
]

#: Columns of the voyage tables (:meth:`ArrivalsSummary.voyages_frame`, :func:`voyage_table`).
VOYAGE_COLUMNS = (
    "voyage", "vessel", "origin", "colony", "arrival_start", "arrival_end", "manifest",
    "admitted", "refused", "secondary_inspection", "undecided",
)  # fmt: skip
#: Columns of the occupancy table (:meth:`ArrivalsSummary.occupancy_frame`).
OCCUPANCY_COLUMNS = (
    "colony", "site", "capacity", "population", "free", "occupancy", "admitted_on_day",
)  # fmt: skip
_UNASSIGNED = "(no colony)"


def report_day(day: date | datetime | str | None, *, now: datetime | None = None) -> date:
    """The UTC day a report is for: a date, a datetime (its UTC day), ``YYYY-MM-DD``, or None.

    None means today in UTC (``now``, default the current time).

    >>> report_day("2031-05-16"), report_day(None, now=datetime(2031, 5, 1, 23, tzinfo=UTC))
    (datetime.date(2031, 5, 16), datetime.date(2031, 5, 1))
    """
    if day is None:
        return (now or datetime.now(UTC)).astimezone(UTC).date()
    if isinstance(day, datetime):
        if day.tzinfo is None:
            raise ValidationError(
                f"day {day!r} has no time zone; give a date such as '2031-05-01' or an aware "
                "datetime"
            )
        return day.astimezone(UTC).date()
    if isinstance(day, date):
        return day
    if isinstance(day, str):
        try:
            return date.fromisoformat(day.strip())
        except ValueError:
            pass
    raise ValidationError(
        f"day {day!r} is not a day; give an ISO date such as '2031-05-01' (UTC), or None for today"
    )


def _on_day(moment: datetime, day: date) -> bool:
    return moment.astimezone(UTC).date() == day


def voyage_colonies(snapshot: StationSnapshot) -> dict[int, int]:
    """Voyage id → colony id: the colony of the station whose bay the voyage is booked into.

    A voyage without a booking takes the colony most of its passengers' decisions name; one
    with neither is left out.
    """
    station_colony = {s.id: s.colony_id for s in snapshot.stations}
    bay_colony = {b.id: station_colony.get(b.station_id) for b in snapshot.bays}
    found: dict[int, int] = {}
    for booking in sorted(snapshot.bookings, key=lambda b: (b.starts_at, b.id)):
        colony = bay_colony.get(booking.bay_id)
        if booking.voyage_id is not None and colony is not None:
            found.setdefault(booking.voyage_id, colony)
    named: dict[int, Counter[int]] = defaultdict(Counter)
    for e in snapshot.entries:
        if e.voyage_id is not None and e.voyage_id not in found:
            named[e.voyage_id][e.colony_id] += 1
    for voyage, counts in named.items():
        found[voyage] = min(counts, key=lambda c: (-counts[c], c))
    return found


def _voyage_rows(
    snapshot: StationSnapshot, voyages: Iterable[Voyage], entries: Iterable[EntryEvent]
) -> list[dict[str, Any]]:
    vessels = {v.id: v.name for v in snapshot.vessels}
    colonies = {c.id: c.name for c in snapshot.colonies}
    where = voyage_colonies(snapshot)
    outcomes: dict[int, Counter[str]] = defaultdict(Counter)
    for e in entries:
        if e.voyage_id is not None:
            outcomes[e.voyage_id][e.outcome] += 1
    rows = []
    for v in voyages:
        counts = outcomes.get(v.id, Counter())
        manifest = int(snapshot.manifests.get(v.id, 0))
        colony = where.get(v.id)
        rows.append(
            {
                "voyage": v.id,
                "vessel": vessels.get(v.vessel_id, f"vessel {v.vessel_id}"),
                "origin": v.origin,
                "colony": _UNASSIGNED if colony is None else colonies.get(colony, str(colony)),
                "arrival_start": v.arrival_start,
                "arrival_end": v.arrival_end,
                "manifest": manifest,
                "admitted": counts["admitted"],
                "refused": counts["refused"],
                "secondary_inspection": counts["secondary_inspection"],
                "undecided": max(manifest - sum(counts.values()), 0),
            }
        )
    return rows


def _frame(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(rows, columns=list(columns))


@dataclass(frozen=True)
class ArrivalsSummary:
    """A day's arrivals (:func:`arrivals_summary`): plain rows, ready for a table or JSON.

    Attributes
    ----------
    day
        The UTC day.
    taken_at
        When the records were read (the occupancy is as of then).
    voyages
        One row per voyage arriving that day (:data:`VOYAGE_COLUMNS`): counts of that day's
        decisions on its passengers.
    occupancy
        One row per colony (:data:`OCCUPANCY_COLUMNS`).
    totals
        ``voyages``, ``manifest`` (passengers on those voyages' manifests), ``admitted``,
        ``refused``, ``secondary_inspection`` (every decision on an arrival that day, with or
        without a voyage), ``undecided``.
    """

    day: date
    taken_at: datetime
    voyages: list[dict[str, Any]] = field(default_factory=list)
    occupancy: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)

    def voyages_frame(self) -> pd.DataFrame:
        """The voyages as a DataFrame (:data:`VOYAGE_COLUMNS`)."""
        return _frame(self.voyages, VOYAGE_COLUMNS)

    def occupancy_frame(self) -> pd.DataFrame:
        """The colonies' occupancy as a DataFrame (:data:`OCCUPANCY_COLUMNS`)."""
        return _frame(self.occupancy, OCCUPANCY_COLUMNS)

    def headline(self) -> str:
        """One Markdown paragraph with the day's totals."""
        t = self.totals
        return (
            f"**{self.day.isoformat()} (UTC)**: {t['voyages']} voyage(s) arriving with "
            f"{t['manifest']} passenger(s) on their manifests; {t['admitted']} admitted, "
            f"{t['refused']} refused, {t['secondary_inspection']} sent to secondary "
            f"inspection, {t['undecided']} undecided. Occupancy as of "
            f"{self.taken_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC."
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (times as ISO 8601 strings)."""

        def plain(row: dict[str, Any]) -> dict[str, Any]:
            return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}

        return {
            "day": self.day.isoformat(),
            "taken_at": self.taken_at.isoformat(),
            "totals": dict(self.totals),
            "voyages": [plain(r) for r in self.voyages],
            "occupancy": [plain(r) for r in self.occupancy],
        }

    def write_json(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON to ``path`` (atomically); return the path."""
        from marsgis.io.atomic import check_json, write_text

        return write_text(Path(path), json.dumps(self.to_dict(), indent=2), check=check_json)


def arrivals_summary(
    snapshot: StationSnapshot, day: date | datetime | str | None = None
) -> ArrivalsSummary:
    """The arrivals of one UTC ``day`` (None: today) and the colonies' occupancy.

    A voyage arrives on the day if its arrival window ``[arrival_start, arrival_end)`` overlaps
    it, or if a passenger of it was decided on with an ``arrival_at`` that day.
    """
    the_day = report_day(day, now=snapshot.taken_at)
    start = datetime(the_day.year, the_day.month, the_day.day, tzinfo=UTC)
    end = start + timedelta(days=1)
    todays = [e for e in snapshot.entries if _on_day(e.arrival_at, the_day)]
    decided = {e.voyage_id for e in todays if e.voyage_id is not None}
    voyages = [
        v
        for v in snapshot.voyages
        if (v.arrival_start < end and v.arrival_end > start) or v.id in decided
    ]
    rows = _voyage_rows(snapshot, voyages, todays)
    outcomes = Counter(e.outcome for e in todays)
    admitted_by_colony = Counter(e.colony_id for e in todays if e.outcome == "admitted")
    occupancy = [
        {
            "colony": c.name,
            "site": c.site,
            "capacity": c.capacity,
            "population": c.population,
            "free": c.capacity - c.population,
            "occupancy": round(c.population / c.capacity, 4) if c.capacity else 0.0,
            "admitted_on_day": admitted_by_colony[c.id],
        }
        for c in snapshot.colonies
    ]
    totals = {
        "voyages": len(rows),
        "manifest": sum(r["manifest"] for r in rows),
        **{outcome: outcomes[outcome] for outcome in ENTRY_OUTCOMES},
        "undecided": sum(r["undecided"] for r in rows),
    }
    return ArrivalsSummary(
        day=the_day, taken_at=snapshot.taken_at, voyages=rows, occupancy=occupancy, totals=totals
    )


def latest_arrival_day(snapshot: StationSnapshot) -> date | None:
    """The UTC day of the latest arrival decided on (None: no decisions yet)."""
    latest = max((e.arrival_at for e in snapshot.entries), default=None)
    return None if latest is None else latest.astimezone(UTC).date()


def voyage_table(snapshot: StationSnapshot) -> pd.DataFrame:
    """Every voyage by arrival, with its manifest and all decisions on its passengers."""
    voyages = sorted(snapshot.voyages, key=lambda v: (v.arrival_start, v.id))
    return _frame(_voyage_rows(snapshot, voyages, snapshot.entries), VOYAGE_COLUMNS)


def arrival_flows(snapshot: StationSnapshot, outcome: str = "admitted") -> pd.DataFrame:
    """Entry decisions of one ``outcome`` per UTC arrival day (rows) and colony (columns).

    Every colony has a column (zeros where none arrived); days without decisions are left out.
    """
    import pandas as pd

    if outcome not in ENTRY_OUTCOMES:
        raise ValidationError(
            f"outcome {outcome!r} is not an entry outcome; use one of {', '.join(ENTRY_OUTCOMES)}"
        )
    names = {c.id: c.name for c in snapshot.colonies}
    counts: Counter[tuple[date, str]] = Counter(
        (e.arrival_at.astimezone(UTC).date(), names.get(e.colony_id, str(e.colony_id)))
        for e in snapshot.entries
        if e.outcome == outcome
    )
    days = sorted({d for d, _ in counts})
    columns = [c.name for c in snapshot.colonies]
    frame = pd.DataFrame(
        [[counts[(d, c)] for c in columns] for d in days],
        index=pd.Index(days, name="arrival day (UTC)"),
        columns=pd.Index(columns, name="colony"),
        dtype="int64",
    )
    return frame


def _admission_rates(snapshot: StationSnapshot) -> dict[int, float]:
    decided: dict[int, Counter[str]] = defaultdict(Counter)
    for e in snapshot.entries:
        if e.outcome in ("admitted", "refused"):  # a secondary inspection decides nothing yet
            decided[e.colony_id][e.outcome] += 1
    everyone = sum((c for c in decided.values()), Counter())
    overall = everyone["admitted"] / sum(everyone.values()) if everyone else 1.0
    return {
        c.id: decided[c.id]["admitted"] / sum(decided[c.id].values()) if decided[c.id] else overall
        for c in snapshot.colonies
    }


#: Columns of :func:`occupancy_forecast`.
FORECAST_COLUMNS = (
    "colony", "voyage", "vessel", "arrival_start", "pending", "admission_rate",
    "expected_admissions", "turned_away", "projected_population", "capacity",
    "projected_occupancy",
)  # fmt: skip


def occupancy_forecast(snapshot: StationSnapshot) -> pd.DataFrame:
    """Each colony's population projected voyage by voyage (:data:`FORECAST_COLUMNS`).

    Per colony: a first row with the population now (``voyage`` 0, ``vessel`` "(current)",
    placed at the latest arrival decided on, else at the snapshot's time), then one row per
    voyage with passengers still undecided (``pending``: on its manifest, no entry decision
    yet), in arrival order. ``expected_admissions`` is ``round(pending × admission_rate)``,
    the rate being the share admitted of the colony's arrivals admitted or refused so far (all
    colonies' share if it has none; 1 with none at all), cut to the free places left; the rest
    is ``turned_away`` (the store refuses admissions beyond the capacity). A simple
    projection, not a model: it assumes future passengers are admitted as often as past ones.
    """
    rates = _admission_rates(snapshot)
    where = voyage_colonies(snapshot)
    vessels = {v.id: v.name for v in snapshot.vessels}
    decided = Counter(e.voyage_id for e in snapshot.entries if e.voyage_id is not None)
    current = max((e.arrival_at for e in snapshot.entries), default=snapshot.taken_at)
    rows: list[dict[str, Any]] = []
    for colony in snapshot.colonies:
        population = colony.population
        rate = rates[colony.id]
        rows.append(
            {
                "colony": colony.name, "voyage": 0, "vessel": "(current)",
                "arrival_start": current, "pending": 0,
                "admission_rate": round(rate, 4), "expected_admissions": 0, "turned_away": 0,
                "projected_population": population, "capacity": colony.capacity,
                "projected_occupancy": round(population / colony.capacity, 4)
                if colony.capacity else 0.0,
            }
        )  # fmt: skip
        voyages = sorted(
            (v for v in snapshot.voyages if where.get(v.id) == colony.id),
            key=lambda v: (v.arrival_start, v.id),
        )
        for v in voyages:
            pending = max(int(snapshot.manifests.get(v.id, 0)) - decided[v.id], 0)
            if pending == 0:
                continue
            expected = round(pending * rate)
            admitted = min(expected, colony.capacity - population)
            population += admitted
            rows.append(
                {
                    "colony": colony.name, "voyage": v.id,
                    "vessel": vessels.get(v.vessel_id, f"vessel {v.vessel_id}"),
                    "arrival_start": v.arrival_start, "pending": pending,
                    "admission_rate": round(rate, 4), "expected_admissions": admitted,
                    "turned_away": expected - admitted, "projected_population": population,
                    "capacity": colony.capacity,
                    "projected_occupancy": round(population / colony.capacity, 4)
                    if colony.capacity else 0.0,
                }
            )  # fmt: skip
    return _frame(rows, FORECAST_COLUMNS)
