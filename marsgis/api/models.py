"""Pydantic models of every request and response body of the API.

Geometries are GeoJSON in the Mars geographic CRS ``IAU_2015:49900``: ``[lon, lat]`` degrees,
planetocentric latitude, east-positive longitude, returned in −180–180 °E.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from marsgis.db import MISSION_STATUSES, MISSION_TYPES, Mission, Task

__all__ = [
    "Database",
    "FeatureCollection",
    "Health",
    "MissionCreate",
    "MissionOut",
    "MissionPatch",
    "Page",
    "PlanOut",
    "Point",
    "Problem",
    "Risk",
    "StatusChangeIn",
    "TaskOut",
]

T = TypeVar("T")


class Point(BaseModel):
    """A GeoJSON Point, ``[lon, lat]`` degrees in ``IAU_2015:49900``."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["Point"] = "Point"
    coordinates: tuple[float, float] = Field(
        description="[longitude °E, planetocentric latitude °]", examples=[[137.4417, -4.5895]]
    )


class MissionCreate(BaseModel):
    """Body of ``POST /missions``."""

    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    mission_type: str = Field("landing", description=f"one of {', '.join(MISSION_TYPES)}")
    target: Point
    objectives: list[Any] = []
    constraints: dict[str, Any] = {}


class MissionPatch(BaseModel):
    """Body of ``PATCH /missions/{id}``: the fields to change (of ``db.update_mission``)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    description: str | None = None
    mission_type: str | None = None
    target: Point | None = None
    objectives: list[Any] | None = None
    constraints: dict[str, Any] | None = None
    risk_assessment: dict[str, Any] | None = None
    safety_score: float | None = None
    scientific_priority: float | None = None

    def changes(self) -> dict[str, Any]:
        """The fields the client sent, as ``db.update_mission`` keywords."""
        sent = self.model_dump(exclude_unset=True)
        target = sent.pop("target", None)
        if target is not None:
            sent["lon"], sent["lat"] = target["coordinates"]
        return sent


class StatusChangeIn(BaseModel):
    """Body of ``PUT /missions/{id}/status``."""

    model_config = ConfigDict(extra="forbid")
    status: str = Field(description=f"one of {', '.join(MISSION_STATUSES)}")
    note: str | None = None


class MissionOut(BaseModel):
    """A stored mission (its ``version`` is also its ``ETag``)."""

    id: str
    name: str
    description: str
    mission_type: str
    status: str
    target: Point
    objectives: list[Any]
    constraints: dict[str, Any]
    risk_assessment: dict[str, Any]
    safety_score: float | None
    scientific_priority: float | None
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, mission: Mission) -> MissionOut:
        """The response model of a :class:`marsgis.db.Mission`."""
        return cls(
            id=mission.id,
            name=mission.name,
            description=mission.description,
            mission_type=mission.mission_type,
            status=mission.status,
            target=Point(coordinates=(mission.lon, mission.lat)),
            objectives=list(mission.objectives),
            constraints=mission.constraints,
            risk_assessment=mission.risk_assessment,
            safety_score=mission.safety_score,
            scientific_priority=mission.scientific_priority,
            created_at=mission.created_at,
            updated_at=mission.updated_at,
            version=mission.version,
        )


class TaskOut(BaseModel):
    """A mission task (``position`` orders them, 0 first)."""

    id: int
    mission_id: str
    position: int
    title: str
    description: str
    status: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, task: Task) -> TaskOut:
        """The response model of a :class:`marsgis.db.Task`."""
        return cls(**task.__dict__)


class Page(BaseModel, Generic[T]):
    """A page of a list: ``items`` from ``offset``, at most ``limit``, of ``total``."""

    items: list[T]
    total: int
    limit: int
    offset: int


class FeatureCollection(BaseModel):
    """A GeoJSON FeatureCollection (lon/lat degrees, ``IAU_2015:49900``)."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[dict[str, Any]]


class Risk(BaseModel):
    """The mission's risk: its scores and stored assessment."""

    safety_score: float | None
    scientific_priority: float | None
    risk_assessment: dict[str, Any]


class PlanOut(BaseModel):
    """A stored plan: the mission, its tasks, landing ellipses, traverses and risk."""

    mission: MissionOut
    tasks: list[TaskOut]
    ellipses: FeatureCollection
    traverses: FeatureCollection
    risk: Risk


class Database(BaseModel):
    """The database the service uses."""

    dialect: str
    revision: str | None


class Health(BaseModel):
    """Body of ``GET /health``."""

    status: Literal["ok"]
    version: str
    database: Database


class Problem(BaseModel):
    """An RFC 9457 problem document (``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    trace_id: str
