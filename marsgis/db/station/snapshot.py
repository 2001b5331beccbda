"""Read the whole station in one transaction (:class:`~marsgis.station.StationSnapshot`).

What the arrivals report and the occupancy forecast (:mod:`marsgis.station.arrivals`) work
on: colonies, stations, bays, vessels, voyages, bay bookings, entry events and the number of
passengers on each voyage's manifest, all as of one moment.
"""

from __future__ import annotations

import sqlalchemy as sa

from marsgis.db.engine import DatabaseLike, transaction
from marsgis.db.schema import station_manifest_entries, station_manifests
from marsgis.db.station._common import now
from marsgis.db.station.admissions import list_entry_events
from marsgis.db.station.colonies import list_colonies
from marsgis.db.station.docking import (
    list_bays,
    list_bookings,
    list_stations,
    list_vessels,
    list_voyages,
)
from marsgis.station.records import StationSnapshot

__all__ = ["station_snapshot"]


def station_snapshot(db: DatabaseLike = None) -> StationSnapshot:
    """Every station record needed by reports and forecasts, read in one transaction."""
    m, e = station_manifests.c, station_manifest_entries.c
    with transaction(db) as conn:
        taken_at = now()
        counts = conn.execute(
            sa.select(m.voyage_id, sa.func.count(e.id))
            .select_from(station_manifests.join(station_manifest_entries, e.manifest_id == m.id))
            .group_by(m.voyage_id)
        ).all()
        return StationSnapshot(
            taken_at=taken_at,
            colonies=tuple(list_colonies(db=conn)),
            stations=tuple(list_stations(db=conn)),
            bays=tuple(list_bays(db=conn)),
            vessels=tuple(list_vessels(db=conn)),
            voyages=tuple(list_voyages(db=conn)),
            bookings=tuple(list_bookings(db=conn)),
            entries=tuple(list_entry_events(db=conn)),
            manifests={int(v): int(n) for v, n in counts},
        )
