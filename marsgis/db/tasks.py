"""Mission tasks: ordered per mission, each with a status.

Table ``mission_tasks`` (revision 0003, :mod:`marsgis.db.schema`): ordered per mission by
``position`` (0 first), deleted with their mission.

Task statuses: ``todo``, ``in_progress``, ``done``, ``skipped``, with the transitions in
:data:`TASK_TRANSITIONS` (``done`` is final; a ``skipped`` task can be taken up again).

Each change records its event in its own transaction (:mod:`marsgis.db.events`):
``task.added``, ``task.status_changed``, ``task.deleted`` (subject: the task id) and
``task.reordered`` (subject: the mission id).

Every function takes ``db``: a URL, an engine, an open connection from
:func:`marsgis.db.transaction` (the call joins that transaction) or None for the default.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from marsgis.db import _validation as check
from marsgis.db.engine import DatabaseLike, inserted_id, transaction
from marsgis.db.events import append_event
from marsgis.db.missions import require_mission
from marsgis.db.schema import TASK_STATUSES, mission_tasks
from marsgis.exceptions import NotFoundError, StateTransitionError, ValidationError

__all__ = [
    "TASK_STATUSES",
    "TASK_TRANSITIONS",
    "Task",
    "add_task",
    "delete_task",
    "list_tasks",
    "reorder_tasks",
    "set_task_status",
]

#: Allowed task status changes.
TASK_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "todo": ("in_progress", "done", "skipped"),
    "in_progress": ("done", "skipped", "todo"),
    "done": (),
    "skipped": ("todo",),
}


@dataclass(frozen=True)
class Task:
    """A mission task: ``position`` orders the tasks of a mission (0 first)."""

    id: int
    mission_id: str
    position: int
    title: str
    description: str
    status: str
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "id": self.id,
            "mission_id": self.mission_id,
            "position": self.position,
            "title": self.title,
            "description": self.description,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def _now() -> datetime:
    return datetime.now(UTC)


def _to_task(row: RowMapping) -> Task:
    return Task(
        id=int(row["id"]),
        mission_id=str(row["mission_id"]),
        position=int(row["position"]),
        title=row["title"],
        description=row["description"] or "",
        status=row["status"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _tasks(conn: Connection, mission_id: str) -> list[Task]:
    t = mission_tasks.c
    rows = conn.execute(
        sa.select(mission_tasks).where(t.mission_id == mission_id).order_by(t.position)
    ).mappings()
    return [_to_task(r) for r in rows]


def add_task(
    mission_id: str | uuid.UUID,
    title: str,
    *,
    position: int | None = None,
    description: str = "",
    status: str = "todo",
    db: DatabaseLike = None,
) -> Task:
    """Add a task to a mission, at the end or at ``position`` (later tasks move down one).

    Raises
    ------
    NotFoundError
        No such mission.
    ValidationError
        Empty title, unknown status, position outside ``0..len(tasks)``.
    """
    mid = check.mission_id(mission_id)
    clean = check.name(title, "task title")
    desc = check.text(description, "description", optional=False)
    st = check.choice(status, "task status", TASK_STATUSES)
    now = _now()
    with transaction(db, write=True) as conn:
        require_mission(conn, mid)
        existing = _tasks(conn, mid)
        pos = len(existing) if position is None else int(position)
        if not 0 <= pos <= len(existing):
            raise ValidationError(
                f"task position {position!r} is outside 0..{len(existing)} for this mission"
            )
        # shift later tasks down, last first (keeps (mission_id, position) unique at each step)
        for task in reversed(existing[pos:]):
            conn.execute(
                mission_tasks.update()
                .where(mission_tasks.c.id == task.id)
                .values(position=task.position + 1)
            )
        result = conn.execute(
            mission_tasks.insert().values(
                mission_id=mid,
                position=pos,
                title=clean,
                description=desc,
                status=st,
                created_at=now,
                updated_at=now,
            )
        )
        new_id = inserted_id(result)
        row = (
            conn.execute(sa.select(mission_tasks).where(mission_tasks.c.id == new_id))
            .mappings()
            .one()
        )
        task = _to_task(row)
        append_event(
            conn,
            "task.added",
            task.id,
            {
                "mission_id": mid,
                "title": task.title,
                "position": task.position,
                "status": task.status,
            },
        )
        return task


def list_tasks(mission_id: str | uuid.UUID, db: DatabaseLike = None) -> list[Task]:
    """The tasks of a mission in order."""
    mid = check.mission_id(mission_id)
    with transaction(db) as conn:
        require_mission(conn, mid)
        return _tasks(conn, mid)


def _task_row(conn: Connection, task_id: int) -> Task:
    row = (
        conn.execute(sa.select(mission_tasks).where(mission_tasks.c.id == int(task_id)))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFoundError(
            f"no task with id {task_id!r}; list a mission's tasks with list_tasks(mission_id)"
        )
    return _to_task(row)


def set_task_status(task_id: int, status: str, db: DatabaseLike = None) -> Task:
    """Move a task to ``status`` along :data:`TASK_TRANSITIONS`.

    Raises
    ------
    StateTransitionError
        The change is not allowed (the message lists what is).
    """
    new = check.choice(status, "task status", TASK_STATUSES)
    with transaction(db, write=True) as conn:
        task = _task_row(conn, task_id)
        allowed = TASK_TRANSITIONS[task.status]
        if new not in allowed:
            options = ", ".join(repr(s) for s in allowed) or f"nothing ({task.status!r} is final)"
            raise StateTransitionError(
                f"task {task.id} ({task.title!r}) cannot go from {task.status!r} to {new!r}; "
                f"from {task.status!r} it may go to: {options}"
            )
        conn.execute(
            mission_tasks.update()
            .where(mission_tasks.c.id == task.id, mission_tasks.c.status == task.status)
            .values(status=new, updated_at=_now())
        )
        append_event(
            conn,
            "task.status_changed",
            task.id,
            {"mission_id": task.mission_id, "from": task.status, "to": new},
        )
        return _task_row(conn, task.id)


def reorder_tasks(
    mission_id: str | uuid.UUID, task_ids: list[int], db: DatabaseLike = None
) -> list[Task]:
    """Put a mission's tasks in the order of ``task_ids`` (which must list each task once)."""
    mid = check.mission_id(mission_id)
    with transaction(db, write=True) as conn:
        require_mission(conn, mid)
        current = _tasks(conn, mid)
        ids = [int(i) for i in task_ids]
        if sorted(ids) != sorted(t.id for t in current):
            raise ValidationError(
                f"task ids {task_ids!r} must list each task of the mission once: "
                f"{[t.id for t in current]}"
            )
        offset = len(current) + 1
        # two passes: move out of the way, then into place (no unique-position clash)
        for i, tid in enumerate(ids):
            conn.execute(
                mission_tasks.update().where(mission_tasks.c.id == tid).values(position=offset + i)
            )
        now = _now()
        for i, tid in enumerate(ids):
            conn.execute(
                mission_tasks.update()
                .where(mission_tasks.c.id == tid)
                .values(position=i, updated_at=now)
            )
        append_event(conn, "task.reordered", mid, {"mission_id": mid, "task_ids": ids})
        return _tasks(conn, mid)


def delete_task(task_id: int, db: DatabaseLike = None) -> None:
    """Delete a task; the later tasks of its mission move up one."""
    with transaction(db, write=True) as conn:
        task = _task_row(conn, task_id)
        conn.execute(mission_tasks.delete().where(mission_tasks.c.id == task.id))
        for later in [t for t in _tasks(conn, task.mission_id) if t.position > task.position]:
            conn.execute(
                mission_tasks.update()
                .where(mission_tasks.c.id == later.id)
                .values(position=later.position - 1)
            )
        append_event(
            conn,
            "task.deleted",
            task.id,
            {"mission_id": task.mission_id, "title": task.title},
        )
