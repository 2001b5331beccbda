"""Persistence: missions and the catalog cache index in SpatiaLite or PostGIS.

The database is ``MARSGIS_DATABASE_URL`` (``postgresql+psycopg2://...`` for a shared PostGIS),
or by default the SpatiaLite file ``marsgis.sqlite`` in the user data dir. The schema is managed
by Alembic migrations shipped in the package, applied on first use (:func:`get_engine`) or with
``marsgis db upgrade``. Geometries use the Mars SRID :data:`MARS_SRID` (``IAU_2015:49900``),
never an Earth SRID.

>>> from marsgis import db  # doctest: +SKIP
>>> mission = db.add_mission("Jezero delta", lat=18.4447, lon=77.4508)  # doctest: +SKIP
>>> db.missions_within_distance(18.4, 77.5, 20_000)  # doctest: +SKIP
"""

from marsgis.db.engine import (
    Connection,
    DatabaseLike,
    Engine,
    current_revision,
    dispose_engines,
    downgrade,
    get_engine,
    head_revision,
    redact_url,
    transaction,
    upgrade,
)
from marsgis.db.missions import (
    MISSION_STATUSES,
    MISSION_TYPES,
    TRANSITIONS,
    Mission,
    MissionDistance,
    StatusChange,
    add_mission,
    delete_mission,
    get_mission,
    list_missions,
    missions_frame,
    missions_within_box,
    missions_within_distance,
    set_status,
    status_history,
    update_mission,
)
from marsgis.db.schema import MARS_SRID

__all__ = (
    "MARS_SRID",
    "Connection",
    "DatabaseLike",
    "Engine",
    "MISSION_STATUSES",
    "MISSION_TYPES",
    "TRANSITIONS",
    "Mission",
    "MissionDistance",
    "StatusChange",
    "add_mission",
    "current_revision",
    "delete_mission",
    "dispose_engines",
    "downgrade",
    "get_engine",
    "get_mission",
    "head_revision",
    "list_missions",
    "missions_frame",
    "missions_within_box",
    "missions_within_distance",
    "redact_url",
    "set_status",
    "status_history",
    "transaction",
    "update_mission",
    "upgrade",
)
