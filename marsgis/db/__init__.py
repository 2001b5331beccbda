"""Persistence: the only package that knows tables, SQL and transactions.

Missions (:mod:`~marsgis.db.missions`), their tasks (:mod:`~marsgis.db.tasks`), plan artefacts
(:mod:`~marsgis.db.artefacts`) and whole plans stored all-or-nothing (:mod:`~marsgis.db.plans`),
report runs and schedules, the model index and the catalog cache index, in SpatiaLite or PostGIS.
On PostGIS, :func:`as_role` runs a block's work as the database role of a marsgis role
(:mod:`marsgis.db.roles`), so that the database's grants decide what it may write.
Every table is in :mod:`marsgis.db.schema`; :func:`transaction` composes, so store calls given
the connection of an outer ``transaction(write=True)`` commit or roll back together.

The database is ``MARSGIS_DATABASE_URL`` (``postgresql+psycopg2://...`` for a shared PostGIS,
``cockroachdb://...`` for the station store on CockroachDB), or by default the SpatiaLite file ``marsgis.sqlite`` in the user data dir. The schema is managed
by Alembic migrations shipped in the package, applied on first use (:func:`get_engine`) or with
``marsgis db upgrade``. Geometries use the Mars SRID :data:`MARS_SRID` (``IAU_2015:49900``),
never an Earth SRID.

>>> from marsgis import db  # doctest: +SKIP
>>> mission = db.add_mission("Jezero delta", lat=18.4447, lon=77.4508)  # doctest: +SKIP
>>> db.missions_within_distance(18.4, 77.5, 20_000)  # doctest: +SKIP
"""

from marsgis.db.artefacts import (
    ARTEFACT_KINDS,
    Artefact,
    add_artefact,
    artefacts_frame,
    delete_artefact,
    get_artefact,
    list_artefacts,
)
from marsgis.db.engine import (
    Connection,
    DatabaseLike,
    Engine,
    current_revision,
    database_flavour,
    describe_store,
    dispose_engines,
    downgrade,
    get_engine,
    head_revision,
    redact_url,
    run_transaction,
    transaction,
    upgrade,
    upgrade_sql,
)
from marsgis.db.missions import (
    MISSION_STATUSES,
    MISSION_TYPES,
    TRANSITIONS,
    Mission,
    MissionDistance,
    MissionPage,
    StatusChange,
    add_mission,
    delete_mission,
    get_mission,
    list_missions,
    missions_frame,
    missions_within_box,
    missions_within_distance,
    page_missions,
    set_status,
    status_history,
    update_mission,
)
from marsgis.db.plans import StoredPlan, load_plan, save_ellipse, save_plan, save_traverse
from marsgis.db.roles import as_role
from marsgis.db.schema import MARS_SRID
from marsgis.db.tasks import (
    TASK_STATUSES,
    TASK_TRANSITIONS,
    Task,
    add_task,
    delete_task,
    list_tasks,
    reorder_tasks,
    set_task_status,
)

__all__ = (
    "ARTEFACT_KINDS",
    "MARS_SRID",
    "MISSION_STATUSES",
    "MISSION_TYPES",
    "TASK_STATUSES",
    "TASK_TRANSITIONS",
    "TRANSITIONS",
    "Artefact",
    "Connection",
    "DatabaseLike",
    "Engine",
    "Mission",
    "MissionDistance",
    "MissionPage",
    "StatusChange",
    "StoredPlan",
    "Task",
    "add_artefact",
    "add_mission",
    "add_task",
    "artefacts_frame",
    "as_role",
    "current_revision",
    "delete_artefact",
    "delete_mission",
    "database_flavour",
    "delete_task",
    "dispose_engines",
    "downgrade",
    "get_artefact",
    "get_engine",
    "get_mission",
    "head_revision",
    "list_artefacts",
    "list_missions",
    "list_tasks",
    "load_plan",
    "missions_frame",
    "missions_within_box",
    "missions_within_distance",
    "page_missions",
    "describe_store",
    "redact_url",
    "reorder_tasks",
    "run_transaction",
    "save_plan",
    "save_ellipse",
    "save_traverse",
    "set_status",
    "set_task_status",
    "status_history",
    "transaction",
    "update_mission",
    "upgrade",
    "upgrade_sql",
)
