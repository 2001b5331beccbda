"""Arrivals, flows and the occupancy forecast on a hand-built snapshot (values worked by hand)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from marsgis.exceptions import ValidationError
from marsgis.station import (
    Bay,
    BayBooking,
    Colony,
    EntryEvent,
    Station,
    StationSnapshot,
    Vessel,
    Voyage,
    arrival_flows,
    arrivals_summary,
    latest_arrival_day,
    occupancy_forecast,
)
from marsgis.station.arrivals import report_day, voyage_colonies

T0 = datetime(2031, 5, 1, 6, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)


def _entry(i: int, voyage: int | None, colony: int, outcome: str, at: datetime) -> EntryEvent:
    return EntryEvent(
        id=i, passenger_id=100 + i, colony_id=colony, visa_id=None, document_id=None,
        voyage_id=voyage, outcome=outcome, officer="officer.osei", reason=None,
        arrival_at=at, at=at,
    )  # fmt: skip


def _snapshot() -> StationSnapshot:
    voyages = [
        Voyage(1, 1, "Earth L1", T0, T0 + 12 * H),  # arrived: 3 admitted, 1 refused, 1 undecided
        Voyage(2, 1, "Earth L1", T0 + 5 * D, T0 + 5 * D + 12 * H),
        Voyage(3, 1, "Luna Gateway", T0 + 10 * D, T0 + 10 * D + 12 * H),
        Voyage(4, 1, "Phobos Yard", T0 + 3 * D, T0 + 3 * D + 12 * H),
        Voyage(5, 1, "Ceres Relay", T0 - 10 * D, T0 - 10 * D + 12 * H),  # no booking
    ]
    bookings = [
        BayBooking(1, 1, 1, T0, T0 + 6 * H, "d"),
        BayBooking(2, 1, 2, T0 + 5 * D, T0 + 5 * D + 6 * H, "d"),
        BayBooking(3, 1, 3, T0 + 10 * D, T0 + 10 * D + 6 * H, "d"),
        BayBooking(4, 2, 4, T0 + 3 * D, T0 + 3 * D + 6 * H, "d"),
    ]
    entries = [
        *(_entry(i, 1, 1, "admitted", T0 + H) for i in range(3)),
        _entry(3, 1, 1, "refused", T0 + H),
        _entry(4, None, 2, "secondary_inspection", T0 + 2 * H),  # no voyage, same day
        _entry(5, 5, 2, "admitted", T0 - 10 * D),
        _entry(6, 5, 2, "admitted", T0 - 10 * D),
    ]
    return StationSnapshot(
        taken_at=T0 + 20 * D,
        colonies=(
            Colony(1, "Alpha", "Jezero", "POLYGON EMPTY", 10, 6, 4),
            Colony(2, "Beta", "Gale", "POLYGON EMPTY", 100, 2, 3),
        ),
        stations=(Station(1, "Alpha Port", 1), Station(2, "Beta Port", 2)),
        bays=(Bay(1, 1, "A1", ("liner",)), Bay(2, 2, "B1", ("liner",))),
        vessels=(Vessel(1, "Ares Dawn", "liner"),),
        voyages=tuple(voyages),
        bookings=tuple(bookings),
        entries=tuple(entries),
        manifests={1: 5, 2: 4, 3: 8, 4: 10, 5: 2},
    )


def test_voyage_colonies_from_bookings_else_decisions() -> None:
    assert voyage_colonies(_snapshot()) == {1: 1, 2: 1, 3: 1, 4: 2, 5: 2}


def test_arrivals_summary_of_a_day() -> None:
    summary = arrivals_summary(_snapshot(), "2031-05-01")
    assert summary.day == date(2031, 5, 1)
    assert summary.totals == {
        "voyages": 1, "manifest": 5, "admitted": 3, "refused": 1, "secondary_inspection": 1,
        "undecided": 1,
    }  # fmt: skip
    [row] = summary.voyages
    assert (row["voyage"], row["vessel"], row["colony"], row["manifest"]) == (
        1, "Ares Dawn", "Alpha", 5,
    )  # fmt: skip
    assert (row["admitted"], row["refused"], row["secondary_inspection"], row["undecided"]) == (
        3, 1, 0, 1,
    )  # fmt: skip
    assert [(o["colony"], o["free"], o["occupancy"], o["admitted_on_day"]) for o in summary.occupancy] == [
        ("Alpha", 4, 0.6, 3),
        ("Beta", 98, 0.02, 0),
    ]  # fmt: skip
    assert summary.voyages_frame()["admitted"].tolist() == [3]
    assert "3 admitted, 1 refused, 1 sent to secondary inspection" in summary.headline()
    # the day a voyage's window covers, with nothing decided yet
    later = arrivals_summary(_snapshot(), date(2031, 5, 6))
    assert [(r["voyage"], r["undecided"]) for r in later.voyages] == [(2, 4)]
    assert later.totals["admitted"] == 0
    assert arrivals_summary(_snapshot(), None).day == date(2031, 5, 21)  # the snapshot's day


def test_flows_and_latest_day() -> None:
    flows = arrival_flows(_snapshot())
    assert flows.index.tolist() == [date(2031, 4, 21), date(2031, 5, 1)]
    assert flows.columns.tolist() == ["Alpha", "Beta"]
    assert flows.values.tolist() == [[0, 2], [3, 0]]
    assert arrival_flows(_snapshot(), "refused").values.tolist() == [[1, 0]]
    assert latest_arrival_day(_snapshot()) == date(2031, 5, 1)
    with pytest.raises(ValidationError, match="'lost' is not an entry outcome"):
        arrival_flows(_snapshot(), "lost")


def test_occupancy_forecast_by_hand() -> None:
    f = occupancy_forecast(_snapshot())
    got = list(
        zip(
            f["colony"], f["voyage"], f["pending"], f["expected_admissions"], f["turned_away"],
            f["projected_population"], strict=True,
        )
    )  # fmt: skip
    # Alpha: admission rate 3/4; 6 now, then voyage 1 (1 pending → 1), voyage 2 (4 → 3, room
    # for 3), voyage 3 (8 → 6, full: all 6 turned away). Beta: rate 2/2; voyage 4 (10 → 10);
    # voyage 5 has nobody pending.
    assert got == [
        ("Alpha", 0, 0, 0, 0, 6),
        ("Alpha", 1, 1, 1, 0, 7),
        ("Alpha", 2, 4, 3, 0, 10),
        ("Alpha", 3, 8, 0, 6, 10),
        ("Beta", 0, 0, 0, 0, 2),
        ("Beta", 4, 10, 10, 0, 12),
    ]
    assert f["admission_rate"].tolist() == [0.75] * 4 + [1.0] * 2
    assert f["arrival_start"].iloc[0] == T0 + 2 * H  # "now": the latest arrival decided on


def test_report_day_refuses_what_is_not_a_day() -> None:
    assert report_day(datetime(2031, 5, 1, 23, tzinfo=UTC)) == date(2031, 5, 1)
    for bad in ("tomorrow", "2031-13-01", 20310501):
        with pytest.raises(ValidationError, match="is not a day; give an ISO date"):
            report_day(bad)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="has no time zone"):
        report_day(datetime(2031, 5, 1))
