"""Read the whole station in one transaction (:class:`~marsgis.station.StationSnapshot`).

What the arrivals report and the occupancy forecast (:mod:`marsgis.station.arrivals`) work
on: colonies, stations, bays, vessels, voyages, bay bookings, entry events and the number of
passengers on each voyage's manifest, all as of one moment.
"""

from __future__ import annotations

import sqlalchemy as sa

from marsgis.db.engine import DatabaseLike, transaction
from marsgis.db.schema import (
    station_manifest_entries,
    station_manifests,
    station_vessels,
    stations,
)
from marsgis.db.station._common import now
from marsgis.db.station.admissions import list_entry_events
from marsgis.db.station.colonies import list_colonies
from marsgis.db.station.docking import list_bays, list_bookings, list_voyages
from marsgis.station.records import Station, StationSnapshot, Vessel

__all__ = ["station_snapshot"]


def station_snapshot(db: DatabaseLike = None) -> StationSnapshot:
    """Every station record needed by reports and forecasts, read in one transaction."""
    m, e = station_manifests.c, station_manifest_entries.c
    with transaction(db) as conn:
        taken_at = now()
        station_rows = conn.execute(
            sa.select(stations.c.id, stations.c.name, stations.c.colony_id).order_by(stations.c.id)
        ).all()
        vessel_rows = conn.execute(
            sa.select(
                station_vessels.c.id, station_vessels.c.name, station_vessels.c.vessel_class
            ).order_by(station_vessels.c.id)
        ).all()
        counts = conn.execute(
            sa.select(m.voyage_id, sa.func.count(e.id))
            .select_from(station_manifests.join(station_manifest_entries, e.manifest_id == m.id))
            .group_by(m.voyage_id)
        ).all()
        return StationSnapshot(
            taken_at=taken_at,
            colonies=tuple(list_colonies(db=conn)),
            stations=tuple(
                Station(id=int(i), name=str(n), colony_id=int(c)) for i, n, c in station_rows
            ),
            bays=tuple(list_bays(db=conn)),
            vessels=tuple(
                Vessel(id=int(i), name=str(n), vessel_class=str(c)) for i, n, c in vessel_rows
            ),
            voyages=tuple(list_voyages(db=conn)),
            bookings=tuple(list_bookings(db=conn)),
            entries=tuple(list_entry_events(db=conn)),
            manifests={int(v): int(n) for v, n in counts},
        )
