"""Property tests (hypothesis) of the visa application lifecycle through the store.

Random sequences of (target status, actor, reason?, stale version?) calls run against the
store on both backends. The expected outcome of each call comes from the issue's table, written
out here independently of marsgis.station.lifecycle. An allowed call changes the row to the
target status (version + 1, one audit record, one event); a refused one raises a marsgis error
and leaves the row, the audit log and the event log exactly as they were.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hst
from station_helpers import passenger_mrz

from marsgis.db import get_engine
from marsgis.db import station as st
from marsgis.exceptions import MarsGISError

STATUSES = [
    "draft",
    "submitted",
    "under_review",
    "info_requested",
    "approved",
    "rejected",
    "withdrawn",
]
# the issue: draft → submitted → under_review ⇄ info_requested → approved | rejected,
# withdrawn from submitted/under_review; applicant's steps vs the officer's
ALLOWED = {
    ("draft", "submitted"): "applicant",
    ("submitted", "under_review"): "officer",
    ("submitted", "withdrawn"): "applicant",
    ("under_review", "info_requested"): "officer",
    ("info_requested", "under_review"): "applicant",
    ("under_review", "approved"): "officer",
    ("under_review", "rejected"): "officer",
    ("under_review", "withdrawn"): "applicant",
}
NEEDS_REASON = {"approved", "rejected", "info_requested"}
APPLICANT, SPONSOR = "pax", "boss"
ACTORS = [APPLICANT, SPONSOR, "officer.omar", "officer.lind"]


def _expected_ok(current: str, target: str, actor: str, reason: bool, stale: bool) -> bool:
    who = ALLOWED.get((current, target))
    if who is None or stale:
        return False
    if target in NEEDS_REASON and not reason:
        return False
    if who == "applicant":
        return actor == APPLICANT
    return actor not in (APPLICANT, SPONSOR)


def _snapshot(engine: sa.Engine, app_id: int) -> tuple[Any, int, int]:
    with engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT * FROM station_visa_applications WHERE id = :i"), {"i": app_id}
        ).one()
        audit = conn.execute(sa.text("SELECT count(*) FROM station_audit_log")).scalar_one()
        events = conn.execute(sa.text("SELECT count(*) FROM events")).scalar_one()
    return tuple(row), audit, events


def test_visa_application_lifecycle_properties(db_url: str) -> None:
    colony = st.add_colony("Gale Colony", site="Gale", capacity=5, actor="m", db=db_url)
    engine = get_engine(db_url)
    counter = iter(range(10_000))

    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=hst.data(), n=hst.integers(1, 12))
    def run(data: hst.DataObject, n: int) -> None:
        passenger, _ = st.register_passenger(passenger_mrz(next(counter)), actor="d", db=db_url)
        app = st.create_application(
            passenger.id, colony.id, applicant=APPLICANT, sponsor=SPONSOR, db=db_url
        )
        status, version = "draft", 1
        for _ in range(n):
            # any status, or (half the time) one the table allows next, so runs go deep
            nexts = [b for (a, b) in ALLOWED if a == status] or STATUSES
            target = data.draw(hst.sampled_from(STATUSES) | hst.sampled_from(nexts))
            actor = data.draw(hst.sampled_from(ACTORS))
            reason, stale = data.draw(hst.booleans()), data.draw(hst.booleans())
            before = _snapshot(engine, app.id)
            ok = _expected_ok(status, target, actor, reason, stale)
            try:
                changed = st.move_application(
                    app.id,
                    target,
                    actor=actor,
                    expected_version=version - 1
                    if stale and version > 1
                    else (version + 1 if stale else version),
                    reason="because" if reason else None,
                    db=db_url,
                )
            except MarsGISError:
                assert not ok, (status, target, actor, reason, stale)
                assert _snapshot(engine, app.id) == before  # refused: nothing changed
                continue
            assert ok, (status, target, actor, reason, stale)
            assert (changed.status, changed.version) == (target, version + 1)
            _row, audit, events = _snapshot(engine, app.id)
            assert (audit, events) == (before[1] + 1, before[2] + 1)
            if target in ("approved", "rejected"):
                assert changed.decided_by == actor not in (APPLICANT, SPONSOR)
            status, version = target, version + 1
        assert st.get_application(app.id, db=db_url).status == status

    run()
    assert st.verify_audit(db=db_url).intact


# visa: issued → expired | revoked; a revocation is proposed by one officer, confirmed by another
OFFICERS = ["officer.omar", "officer.lind", "officer.park"]


def _visa_row(engine: sa.Engine, visa_id: int) -> tuple[Any, int]:
    with engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT * FROM station_visas WHERE id = :i"), {"i": visa_id}
        ).one()
        audit = conn.execute(sa.text("SELECT count(*) FROM station_audit_log")).scalar_one()
    return tuple(row), audit


def test_visa_lifecycle_properties(db_url: str) -> None:
    from datetime import timedelta

    from station_helpers import T0, visa_holder

    from marsgis.db import transaction

    colony = st.add_colony("Jezero Colony", site="Jezero", capacity=5, actor="m", db=db_url)
    engine = get_engine(db_url)
    counter = iter(range(20_000, 30_000))

    @settings(
        max_examples=20,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=hst.data(), n=hst.integers(1, 6))
    def run(data: hst.DataObject, n: int) -> None:
        with transaction(db_url, write=True) as conn:
            _, _, visa_id = visa_holder(conn, colony.id, next(counter))
        status, proposer, version = "issued", None, 1
        for _ in range(n):
            op = data.draw(hst.sampled_from(["propose", "revoke", "expire"]))
            officer = data.draw(hst.sampled_from(OFFICERS))
            before = _visa_row(engine, visa_id)
            try:
                if op == "propose":
                    visa = st.propose_revocation(
                        visa_id, officer=officer, reason="r", expected_version=version, db=db_url
                    )
                elif op == "revoke":
                    visa = st.revoke_visa(
                        visa_id, officer=officer, reason="r", expected_version=version, db=db_url
                    )
                else:
                    st.expire_visas(at=T0 + timedelta(days=400), actor="clock", db=db_url)
                    visa = st.get_visa(visa_id, db=db_url)
            except MarsGISError:
                ok = False
            else:
                ok = True
            # the model: only an issued visa changes; revoking needs a proposal by another
            # officer; expiring is a sweep over all visas, a no-op for one no longer issued
            if op == "expire" and status != "issued":
                assert ok and _visa_row(engine, visa_id)[0] == before[0]
                continue
            expected_ok = status == "issued" and (
                op in ("propose", "expire") or (op == "revoke" and proposer not in (None, officer))
            )
            assert ok == expected_ok, (status, proposer, op, officer)
            if not ok:
                assert _visa_row(engine, visa_id) == before
                continue
            if op == "propose":
                proposer = officer
            elif op == "revoke":
                status = "revoked"
            else:
                status = "expired"
            assert visa.status == status and visa.status in ("issued", "expired", "revoked")
            version = visa.version
        assert st.get_visa(visa_id, db=db_url).status == status

    run()
    assert st.verify_audit(db=db_url).intact
