"""Store a generated demo station (:func:`marsgis.station.seed.generate_station`).

Colonies, stations, bays, vessels, voyages and bay bookings go through the store functions
(each with its audit record and event). The thousands of passengers, documents, the voyages'
manifests, applications, visas and arrival decisions are written in bulk; the admissions are decided by the same rule
(:func:`marsgis.station.rules.admission_refusals`) and capacities as :func:`admit_passenger`,
and the bulk is recorded as one ``seeded`` audit record and ``station.seeded`` event naming the
plan's sha256. Everything is one transaction: the station is stored completely or not at all.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from marsgis.db.engine import DatabaseLike, run_transaction, transaction
from marsgis.db.schema import (
    station_audit_log,
    station_colonies,
    station_entry_events,
    station_manifest_entries,
    station_manifests,
    station_passengers,
    station_residents,
    station_travel_documents,
    station_visa_applications,
    station_visas,
)
from marsgis.db.station._common import now, record
from marsgis.db.station.colonies import add_colony
from marsgis.db.station.docking import add_bay, add_station, add_vessel, add_voyage, book_bay
from marsgis.exceptions import ValidationError
from marsgis.station.mrz import parse_td3
from marsgis.station.records import TravelDocument, Visa
from marsgis.station.rules import admission_refusals
from marsgis.station.seed import StationPlan

__all__ = ["ensure_station", "store_station"]

_SEEDER = "marsgis.station.seed"
#: Voyages (by index) whose passengers have arrived and been decided on.
_ARRIVED_VOYAGES = 4


def _insert_many(conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    result = conn.execute(table.insert().returning(table.c.id, sort_by_parameter_order=True), rows)
    return [int(i) for i in result.scalars()]


def store_station(plan: StationPlan, *, db: DatabaseLike = None) -> dict[str, Any]:
    """Write ``plan`` into an empty station store; return counts of what was stored."""
    at = now()

    def change(conn: Connection) -> dict[str, Any]:
        if conn.execute(sa.select(sa.func.count()).select_from(station_colonies)).scalar():
            raise ValidationError(
                "the station store already has colonies; seed an empty database (a new "
                "SpatiaLite file: marsgis station seed --url sqlite:////path/new.sqlite)"
            )
        colony_ids = [
            add_colony(
                c["name"],
                site=c["site"],
                capacity=c["capacity"],
                radius_km=c["radius_km"],
                actor=_SEEDER,
                db=conn,
            ).id
            for c in plan.colonies
        ]
        station_ids = [
            add_station(s["name"], colony_id=colony_ids[s["colony"]], actor=_SEEDER, db=conn).id
            for s in plan.stations
        ]
        bay_ids = [
            add_bay(
                station_ids[b["station"]],
                b["code"],
                vessel_classes=b["vessel_classes"],
                actor=_SEEDER,
                db=conn,
            ).id
            for b in plan.bays
        ]
        vessel_ids = [
            add_vessel(v["name"], vessel_class=v["vessel_class"], actor=_SEEDER, db=conn).id
            for v in plan.vessels
        ]
        voyage_ids = [
            add_voyage(
                vessel_ids[v["vessel"]],
                origin=v["origin"],
                arrival_start=v["arrival_start"],
                arrival_end=v["arrival_end"],
                actor=_SEEDER,
                db=conn,
            ).id
            for v in plan.voyages
        ]
        for b in plan.bookings:
            book_bay(
                bay_ids[b["bay"]],
                starts_at=b["starts_at"],
                ends_at=b["ends_at"],
                voyage_id=voyage_ids[b["voyage"]],
                actor=_SEEDER,
                db=conn,
            )

        parsed = [parse_td3(p["mrz"]) for p in plan.passengers]
        passenger_ids = _insert_many(
            conn,
            station_passengers,
            [
                {
                    "surname": m.surname,
                    "given_names": m.given_names,
                    "nationality": m.nationality,
                    "birth_date": m.birth_date,
                    "sex": m.sex,
                    "created_at": at,
                }
                for m in parsed
            ],
        )
        document_rows = [
            {
                "passenger_id": pid,
                "document_number": m.document_number,
                "issuing_state": m.issuing_state,
                "expires_on": m.expires_on,
                "mrz": p["mrz"],
            }
            for pid, m, p in zip(passenger_ids, parsed, plan.passengers, strict=True)
        ]
        document_ids = _insert_many(conn, station_travel_documents, document_rows)
        # every voyage's manifest: the passengers travelling on it, with their passports
        manifest_ids = _insert_many(
            conn,
            station_manifests,
            [{"voyage_id": v, "submitted_by": _SEEDER, "created_at": at} for v in voyage_ids],
        )
        manifest_rows = [
            {
                "manifest_id": manifest_ids[p["voyage"]],
                "passenger_id": pid,
                "document_id": did,
            }
            for pid, did, p in zip(passenger_ids, document_ids, plan.passengers, strict=True)
        ]
        _insert_many(conn, station_manifest_entries, manifest_rows)
        decided = ("approved", "rejected")
        application_ids = _insert_many(
            conn,
            station_visa_applications,
            [
                {
                    "passenger_id": pid,
                    "colony_id": colony_ids[p["colony"]],
                    "applicant": p["applicant"],
                    "sponsor": p["sponsor"],
                    "status": p["status"],
                    "decided_by": p["officer"] if p["status"] in decided else None,
                    "reason": "seeded decision" if p["status"] in decided else None,
                    "version": 1,
                    "created_at": at,
                    "updated_at": at,
                }
                for pid, p in zip(passenger_ids, plan.passengers, strict=True)
            ],
        )
        approved = [i for i, p in enumerate(plan.passengers) if p["status"] == "approved"]
        visa_rows = [
            {
                "application_id": application_ids[i],
                "passenger_id": passenger_ids[i],
                "colony_id": colony_ids[plan.passengers[i]["colony"]],
                "status": "issued",
                "valid_from": plan.passengers[i]["valid_from"],
                "valid_until": plan.passengers[i]["valid_until"],
                "issued_by": plan.passengers[i]["officer"],
                "version": 1,
            }
            for i in approved
        ]
        visa_ids = dict(zip(approved, _insert_many(conn, station_visas, visa_rows), strict=True))

        # arrivals of the first voyages: the admission rule, then the capacity
        room = {cid: c["capacity"] for cid, c in zip(colony_ids, plan.colonies, strict=True)}
        entries: list[dict[str, Any]] = []
        residents: list[dict[str, Any]] = []
        for i, p in enumerate(plan.passengers):
            if p["voyage"] >= _ARRIVED_VOYAGES or p["status"] in ("draft",):
                continue
            colony = colony_ids[p["colony"]]
            arrival = plan.voyages[p["voyage"]]["arrival_start"]
            visa = None
            if i in visa_ids:
                row = visa_rows[approved.index(i)]
                visa = Visa(
                    id=visa_ids[i],
                    application_id=row["application_id"],
                    passenger_id=row["passenger_id"],
                    colony_id=row["colony_id"],
                    status="issued",
                    valid_from=row["valid_from"],
                    valid_until=row["valid_until"],
                    issued_by=row["issued_by"],
                    revocation_proposed_by=None,
                    revoked_by=None,
                    revoked_at=None,
                    version=1,
                )
            d = document_rows[i]
            document = TravelDocument(
                id=document_ids[i],
                passenger_id=d["passenger_id"],
                document_number=d["document_number"],
                issuing_state=d["issuing_state"],
                expires_on=d["expires_on"],
                mrz=d["mrz"],
            )
            reasons = admission_refusals(
                passenger_id=passenger_ids[i],
                colony_id=colony,
                arrival_at=arrival,
                visa=visa,
                document=document,
            )
            if not reasons and room[colony] <= 0:
                reasons = [f"colony {colony} is full"]
            outcome = "refused" if reasons else "admitted"
            entries.append(
                {
                    "passenger_id": passenger_ids[i],
                    "colony_id": colony,
                    "visa_id": None if visa is None else visa.id,
                    "document_id": document.id,
                    "voyage_id": voyage_ids[p["voyage"]],
                    "outcome": outcome,
                    "officer": p["officer"],
                    "reason": "; ".join(reasons) or None,
                    "arrival_at": arrival,
                    "at": arrival,
                }
            )
            if outcome == "admitted":
                assert visa is not None
                room[colony] -= 1
                residents.append(
                    {
                        "passenger_id": passenger_ids[i],
                        "colony_id": colony,
                        "visa_id": visa.id,
                        "since": arrival,
                    }
                )
        _insert_many(conn, station_entry_events, entries)
        _insert_many(conn, station_residents, residents)
        population = Counter(r["colony_id"] for r in residents)
        for cid, count in population.items():
            c = station_colonies.c
            conn.execute(
                station_colonies.update()
                .where(c.id == cid)
                .values(population=c.population + count, version=c.version + 1)
            )
        outcomes = Counter(e["outcome"] for e in entries)
        summary: dict[str, Any] = {
            "seed": plan.seed,
            "colonies": len(colony_ids),
            "stations": len(station_ids),
            "bays": len(bay_ids),
            "vessels": len(vessel_ids),
            "voyages": len(voyage_ids),
            "bookings": len(plan.bookings),
            "manifests": len(manifest_ids),
            "passengers": len(passenger_ids),
            "applications": len(application_ids),
            "visas": len(visa_rows),
            "admitted": outcomes["admitted"],
            "refused": outcomes["refused"],
            "plan_sha256": plan.digest,
        }
        record(
            conn,
            "station.seeded",
            actor=_SEEDER,
            role="system",
            subject_type="station",
            subject_id="seed",
            reason=f"demo station generated with seed {plan.seed}",
            details=summary,
        )
        return summary

    return run_transaction(db, change)


def ensure_station(
    *, seed: int = 2031, passengers: int = 3000, db: DatabaseLike = None
) -> dict[str, Any]:
    """The seeded demo station: stored now if the store has no colonies, else the one there.

    Returns the summary :func:`store_station` returned when it was stored (from its ``seeded``
    audit record; ``{}`` details for a station not built by the generator) with ``"reused"``:
    whether the station was already there. Used by ``marsgis demo`` and the station notebooks.
    """
    from marsgis.station.seed import generate_station

    with transaction(db) as conn:
        present = conn.execute(sa.select(sa.func.count()).select_from(station_colonies)).scalar()
        if present:
            a = station_audit_log.c
            details = conn.execute(
                sa.select(a.details)
                .where(a.action == "seeded", a.subject_type == "station")
                .order_by(a.id.desc())
                .limit(1)
            ).scalar()
            return {**(dict(details) if details else {}), "reused": True}
    return {
        **store_station(generate_station(seed=seed, passengers=passengers), db=db),
        "reused": False,
    }
