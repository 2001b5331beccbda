"""The station's store: colonies, docking, passengers, visas, admissions and the audit log.

Each module holds one family of tables (:mod:`~marsgis.db.station.colonies`,
:mod:`~marsgis.db.station.docking`, :mod:`~marsgis.db.station.passengers`,
:mod:`~marsgis.db.station.visas`, :mod:`~marsgis.db.station.admissions`,
:mod:`~marsgis.db.station.audit`, :mod:`~marsgis.db.station.seed`), and
:mod:`~marsgis.db.station.snapshot` reads all of it at once for reports. Every decision appends a
hash-chained audit record and a ``station`` event in its own transaction. The invariants and how
each backend enforces them: ``docs/station.md``.
"""

from marsgis.db.station.admissions import (
    admit_passenger,
    list_entry_events,
    list_residents,
    record_entry,
)
from marsgis.db.station.audit import list_audit, verify_audit
from marsgis.db.station.colonies import add_colony, get_colony, list_colonies, set_capacity
from marsgis.db.station.docking import (
    VESSEL_CLASSES,
    add_bay,
    add_station,
    add_vessel,
    add_voyage,
    book_bay,
    file_manifest,
    list_bays,
    list_bookings,
    list_stations,
    list_vessels,
    list_voyages,
    manifest_passengers,
)
from marsgis.db.station.passengers import (
    get_document,
    get_passenger,
    passenger_documents,
    register_passenger,
)
from marsgis.db.station.snapshot import station_snapshot
from marsgis.db.station.visas import (
    create_application,
    expire_visas,
    get_application,
    get_visa,
    issue_visa,
    list_applications,
    list_visas,
    move_application,
    propose_revocation,
    revoke_visa,
)

__all__ = (
    "VESSEL_CLASSES",
    "add_bay",
    "add_colony",
    "add_station",
    "add_vessel",
    "add_voyage",
    "admit_passenger",
    "book_bay",
    "create_application",
    "expire_visas",
    "file_manifest",
    "get_application",
    "get_colony",
    "get_document",
    "get_passenger",
    "get_visa",
    "issue_visa",
    "list_applications",
    "list_audit",
    "list_bays",
    "list_bookings",
    "list_colonies",
    "list_entry_events",
    "list_residents",
    "list_stations",
    "list_vessels",
    "list_visas",
    "list_voyages",
    "manifest_passengers",
    "move_application",
    "passenger_documents",
    "propose_revocation",
    "record_entry",
    "register_passenger",
    "revoke_visa",
    "set_capacity",
    "station_snapshot",
    "verify_audit",
)
