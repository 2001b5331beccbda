"""The station: colonies, docking bays, voyages, passengers, visas and admissions.

Pure domain rules, no database: the lifecycles (:mod:`~marsgis.station.lifecycle`), the
admission rule (:mod:`~marsgis.station.rules`), machine-readable zones
(:mod:`~marsgis.station.mrz`), document checks (:mod:`~marsgis.station.documents`),
arrivals, flows and the occupancy forecast (:mod:`~marsgis.station.arrivals`), the audit hash
chain (:mod:`~marsgis.station.audit`), the records the store returns
(:mod:`~marsgis.station.records`) and the seeded demo generator (:mod:`~marsgis.station.seed`).
:mod:`marsgis.db.station` stores them and enforces the
invariants under concurrency; see ``docs/station.md``.
"""

from marsgis.station.arrivals import (
    ArrivalsSummary,
    arrival_flows,
    arrivals_summary,
    latest_arrival_day,
    occupancy_forecast,
    voyage_table,
)
from marsgis.station.audit import GENESIS, AuditVerification, chain_hash, verify_chain
from marsgis.station.documents import DocumentCheck, check_document
from marsgis.station.lifecycle import (
    APPLICATION_STATUSES,
    APPLICATION_TRANSITIONS,
    ENTRY_OUTCOMES,
    VISA_STATUSES,
    VISA_TRANSITIONS,
    check_application_transition,
    check_officer,
    check_second_officer,
    check_visa_transition,
)
from marsgis.station.mrz import MRZData, make_td3, parse_td3
from marsgis.station.records import (
    AuditRecord,
    Bay,
    BayBooking,
    Colony,
    EntryEvent,
    Passenger,
    Resident,
    Station,
    StationSnapshot,
    TravelDocument,
    Vessel,
    Visa,
    VisaApplication,
    Voyage,
)
from marsgis.station.rules import admission_refusals, check_admission

__all__ = (
    "APPLICATION_STATUSES",
    "APPLICATION_TRANSITIONS",
    "ENTRY_OUTCOMES",
    "GENESIS",
    "VISA_STATUSES",
    "VISA_TRANSITIONS",
    "ArrivalsSummary",
    "AuditRecord",
    "AuditVerification",
    "Bay",
    "BayBooking",
    "Colony",
    "DocumentCheck",
    "EntryEvent",
    "MRZData",
    "Passenger",
    "Resident",
    "Station",
    "StationSnapshot",
    "TravelDocument",
    "Vessel",
    "Visa",
    "VisaApplication",
    "Voyage",
    "admission_refusals",
    "arrival_flows",
    "arrivals_summary",
    "chain_hash",
    "check_document",
    "check_admission",
    "check_application_transition",
    "check_officer",
    "check_second_officer",
    "check_visa_transition",
    "latest_arrival_day",
    "make_td3",
    "occupancy_forecast",
    "parse_td3",
    "verify_chain",
    "voyage_table",
)
