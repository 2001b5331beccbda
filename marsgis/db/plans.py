"""Whole mission plans in the store: a mission with its tasks and artefacts, all or nothing.

:func:`save_plan` stores a :class:`marsgis.planning.MissionPlan` — the mission record, its ordered
tasks and its artefacts (landing-ellipse polygon, traverse lines) — in **one transaction**: if
any part is refused (a bad task title, an invalid geometry, a database error) nothing is stored
and the database is exactly as before. :func:`load_plan` reads a stored plan back as a
:class:`StoredPlan`; :func:`save_traverse` adds a planned traverse to a mission that exists,
guarded by the mission's ``version`` like every other change to it (a save based on a stale
version is refused and writes nothing).

Events: :func:`save_plan` records ``mission.created``, a ``task.added`` per task, an
``artefact.added`` per artefact and then ``plan.saved`` (subject: the mission id);
:func:`save_traverse` records ``artefact.added`` and ``traverse.saved`` — all in the save's
transaction (:mod:`marsgis.db.events`).

The rows themselves are written by :mod:`marsgis.db.missions`, :mod:`marsgis.db.tasks` and
:mod:`marsgis.db.artefacts`, joined into the one transaction (:func:`marsgis.db.transaction`
composes). What a plan holds is decided by :mod:`marsgis.planning.missions`, which never
touches the database.

>>> from marsgis import db, planning  # doctest: +SKIP
>>> plan = planning.plan_mission("Gale", lat=-4.5895, lon=137.4417, dem=dem, constraints="msl")  # doctest: +SKIP
>>> stored = db.save_plan(plan)  # doctest: +SKIP
>>> db.load_plan(stored.mission.id).traverses()  # doctest: +SKIP
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from marsgis.db import _validation as check
from marsgis.db.artefacts import Artefact, add_artefact, list_artefacts
from marsgis.db.engine import DatabaseLike, transaction
from marsgis.db.events import append_event
from marsgis.db.missions import Mission, add_mission, advance_version, get_mission
from marsgis.db.tasks import Task, add_task, list_tasks

if TYPE_CHECKING:
    import geopandas as gpd

    from marsgis.planning.ellipses import EllipseEvaluation, LandingEllipse
    from marsgis.planning.missions import MissionPlan, PlanArtefact

__all__ = ["StoredPlan", "load_plan", "save_ellipse", "save_plan", "save_traverse"]


@dataclass(frozen=True)
class StoredPlan:
    """A stored mission with its tasks and artefacts (as loaded from the database)."""

    mission: Mission
    tasks: tuple[Task, ...] = ()
    artefacts: tuple[Artefact, ...] = field(default=())

    def traverses(self) -> list[gpd.GeoDataFrame]:
        """The stored traverses, each rebuilt as the GeoDataFrame ``plan_traverse`` made."""
        from marsgis.planning.missions import traverse_from_artefact

        return [traverse_from_artefact(a) for a in self.artefacts if a.kind == "traverse"]

    def ellipses(self) -> list[LandingEllipse]:
        """The stored landing ellipses."""
        from marsgis.planning.ellipses import LandingEllipse

        return [
            LandingEllipse(**a.properties["ellipse"]) for a in self.artefacts if a.kind == "ellipse"
        ]


def save_plan(plan: MissionPlan, db: DatabaseLike = None) -> StoredPlan:
    """Store a plan — mission, tasks and artefacts — in one transaction.

    Parameters
    ----------
    plan
        A :class:`marsgis.planning.MissionPlan` (from :func:`marsgis.planning.plan_mission`).
    db
        Database URL, engine, an open connection from ``transaction(write=True)`` to join, or
        None for the configured default.

    Returns
    -------
    StoredPlan
        The stored mission (version 1), tasks and artefacts, ids included.

    Raises
    ------
    ValidationError, CoordinateError
        A part of the plan is not storable (the message names it); nothing was stored.
    DatabaseError
        The database refused a row; nothing was stored.
    """
    with transaction(db, write=True) as conn:
        mission = add_mission(**plan.mission_fields(), db=conn)
        tasks = tuple(add_task(mission.id, title, db=conn) for title in plan.tasks)
        artefacts = tuple(
            add_artefact(mission.id, a.kind, a.name, a.geometry, properties=a.properties, db=conn)
            for a in plan.artefacts()
        )
        append_event(
            conn,
            "plan.saved",
            mission.id,
            {
                "name": mission.name,
                "task_ids": [t.id for t in tasks],
                "artefact_ids": [a.id for a in artefacts],
            },
        )
    return StoredPlan(mission=mission, tasks=tasks, artefacts=artefacts)


def load_plan(mission_id: str | uuid.UUID, db: DatabaseLike = None) -> StoredPlan:
    """Load a stored mission with its tasks and artefacts (one consistent read)."""
    mid = check.mission_id(mission_id)
    with transaction(db) as conn:
        mission = get_mission(mid, db=conn)
        return StoredPlan(
            mission=mission,
            tasks=tuple(list_tasks(mid, db=conn)),
            artefacts=tuple(list_artefacts(mid, db=conn)),
        )


def save_traverse(
    mission_id: str | uuid.UUID,
    traverse: gpd.GeoDataFrame,
    *,
    name: str | None = None,
    expected_version: int | None = None,
    db: DatabaseLike = None,
) -> Artefact:
    """Add a :func:`marsgis.planning.plan_traverse` result to a stored mission's plan.

    The artefact and the mission's version step (``version + 1``) are one transaction: a
    change to the plan is a change to the mission, so whoever holds the mission at an older
    version is told it changed.

    Parameters
    ----------
    mission_id
        The mission.
    traverse
        The planned route (one row per leg).
    name
        The artefact's label; default the route's ``name`` attribute.
    expected_version
        The mission version the traverse was planned against (``mission.version``): if the
        mission has changed since, the save is refused. None saves onto whatever is stored.
    db
        Database URL, engine, open connection, or None for the configured default.

    Raises
    ------
    ConcurrencyError
        The mission is no longer at ``expected_version``; nothing was written.
    NotFoundError
        No such mission.
    """
    from marsgis.planning.missions import traverse_artefact

    return _save_artefact(
        mission_id, traverse_artefact(traverse, name=name), "traverse.saved", expected_version, db
    )


def save_ellipse(
    mission_id: str | uuid.UUID,
    ellipse: LandingEllipse | EllipseEvaluation,
    *,
    name: str = "landing ellipse",
    expected_version: int | None = None,
    db: DatabaseLike = None,
) -> Artefact:
    """Add a landing ellipse (or an evaluated one) to a stored mission's plan.

    As :func:`save_traverse`: the artefact and the mission's version step are one
    transaction, recorded as an ``ellipse.saved`` event.

    Parameters
    ----------
    mission_id
        The mission.
    ellipse
        A :class:`marsgis.planning.LandingEllipse`, or the
        :func:`marsgis.planning.evaluate_ellipse` result (its figures are kept too).
    name
        The artefact's label.
    expected_version
        The mission version the ellipse was chosen against; None saves onto what is stored.

    Raises
    ------
    ConcurrencyError
        The mission is no longer at ``expected_version``; nothing was written.
    NotFoundError
        No such mission.
    """
    from marsgis.planning.ellipses import EllipseEvaluation as _Evaluation
    from marsgis.planning.missions import ellipse_artefact

    if isinstance(ellipse, _Evaluation):
        artefact = ellipse_artefact(ellipse.ellipse, ellipse, name=name)
    else:
        artefact = ellipse_artefact(ellipse, name=name)
    return _save_artefact(mission_id, artefact, "ellipse.saved", expected_version, db)


def _save_artefact(
    mission_id: str | uuid.UUID,
    artefact: PlanArtefact,
    event: str,
    expected_version: int | None,
    db: DatabaseLike,
) -> Artefact:
    """Store one plan artefact and step the mission's version, recording ``event``."""
    mid = check.mission_id(mission_id)
    with transaction(db, write=True) as conn:
        version = advance_version(conn, mid, expected_version)
        stored = add_artefact(
            mid,
            artefact.kind,
            artefact.name,
            artefact.geometry,
            properties=artefact.properties,
            db=conn,
        )
        append_event(
            conn, event, mid, {"artefact_id": stored.id, "name": stored.name, "version": version}
        )
        return stored
