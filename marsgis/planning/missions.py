"""A mission plan: a landing ellipse, traverses, a risk assessment and tasks, stored together.

:func:`plan_mission` evaluates the landing ellipse of a constraint set at the target, plans
the traverses to the given waypoints, assesses the risk for the date, and returns a
:class:`MissionPlan`. :meth:`MissionPlan.save` stores it as one mission record
(:func:`marsgis.db.add_mission`: name, description, type, objectives, constraints, target,
safety score, science priority and the risk assessment), its ordered tasks and its plan
artefacts (ellipse polygon, traverse lines) with :mod:`marsgis.db.plans`;
:func:`load_mission_plan` reads them back. The status lifecycle (planned → active →
completed | aborted, with history) is :func:`marsgis.db.set_status`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import geopandas as gpd
import numpy as np
import xarray as xr
from shapely.geometry import LineString, MultiLineString

from marsgis.crs import MARS_GEOGRAPHIC, validate_latlon
from marsgis.exceptions import ValidationError
from marsgis.planning.constraints import ConstraintSet, load_constraints
from marsgis.planning.ellipses import EllipseEvaluation, LandingEllipse, evaluate_ellipse
from marsgis.planning.risk import RiskAssessment, assess_risk
from marsgis.planning.traverse import plan_traverse

__all__ = [
    "MissionPlan",
    "StoredPlan",
    "load_mission_plan",
    "plan_mission",
    "traverse_from_artefact",
]

_LEG_COLUMNS = (
    "leg", "from_lat", "from_lon", "to_lat", "to_lon", "length_m", "great_circle_m", "cost",
    "elevation_gain_m", "elevation_loss_m", "max_slope_deg", "mean_slope_deg", "drive_time_h",
    "energy_wh", "n_cells",
)  # fmt: skip


@dataclass(frozen=True)
class MissionPlan:
    """Everything planned for a mission, not yet stored (see :meth:`save`)."""

    name: str
    lat: float
    lon: float
    mission_type: str = "landing"
    description: str = ""
    objectives: tuple[str, ...] = ()
    constraints: ConstraintSet | None = None
    ellipse: LandingEllipse | None = None
    evaluation: EllipseEvaluation | None = None
    traverse: gpd.GeoDataFrame | None = None
    risk: RiskAssessment | None = None
    tasks: tuple[str, ...] = ()
    when: str | None = None

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary (what ``marsgis mission plan --json`` prints)."""
        out: dict[str, Any] = {
            "name": self.name,
            "mission_type": self.mission_type,
            "lat": self.lat,
            "lon": self.lon,
            "objectives": list(self.objectives),
            "constraints": None if self.constraints is None else self.constraints.name,
            "date": self.when,
            "tasks": list(self.tasks),
        }
        if self.evaluation is not None:
            out["ellipse"] = self.evaluation.to_dict()
        if self.traverse is not None:
            keys = (
                "length_m",
                "great_circle_m",
                "cost",
                "max_slope_deg",
                "drive_time_h",
                "energy_wh",
                "method",
            )
            out["traverse"] = {k: self.traverse.attrs.get(k) for k in keys}
            out["traverse"]["legs"] = len(self.traverse)
        if self.risk is not None:
            out["risk"] = self.risk.to_dict()
        return out

    def save(self, db: Any = None) -> StoredPlan:
        """Store the plan: the mission record, its tasks and its artefacts.

        Returns
        -------
        StoredPlan
            The stored mission, tasks and artefacts (ids included).
        """
        from marsgis import db as store
        from marsgis.db import plans

        safety = (
            None if self.evaluation is None else float(np.clip(self.evaluation.safety, 0.0, 1.0))
        )
        science = (
            None if self.evaluation is None else float(np.clip(self.evaluation.science, 0.0, 1.0))
        )
        mission = store.add_mission(
            self.name,
            lat=self.lat,
            lon=self.lon,
            mission_type=self.mission_type,
            description=self.description,
            objectives=list(self.objectives),
            constraints=None if self.constraints is None else self.constraints.to_dict(),
            risk_assessment=None if self.risk is None else _finite(self.risk.to_dict()),
            safety_score=safety,
            scientific_priority=science,
            db=db,
        )
        tasks = [plans.add_task(mission.id, t, db=db) for t in self.tasks]
        artefacts = []
        if self.ellipse is not None:
            props: dict[str, Any] = {"ellipse": self.ellipse.to_dict()}
            if self.evaluation is not None:
                props["evaluation"] = _finite(self.evaluation.to_dict())
            artefacts.append(
                plans.add_artefact(
                    mission.id,
                    "ellipse",
                    "landing ellipse",
                    self.ellipse.polygon(),
                    properties=props,
                    db=db,
                )
            )
        if self.traverse is not None:
            artefacts.append(save_traverse(mission.id, self.traverse, db=db))
        return StoredPlan(mission=mission, tasks=tuple(tasks), artefacts=tuple(artefacts))


@dataclass(frozen=True)
class StoredPlan:
    """A stored mission with its tasks and artefacts (as loaded from the database)."""

    mission: Any
    tasks: tuple[Any, ...] = ()
    artefacts: tuple[Any, ...] = field(default=())

    def traverses(self) -> list[gpd.GeoDataFrame]:
        """The stored traverses, each rebuilt as the GeoDataFrame :func:`plan_traverse` made."""
        return [traverse_from_artefact(a) for a in self.artefacts if a.kind == "traverse"]

    def ellipses(self) -> list[LandingEllipse]:
        """The stored landing ellipses."""
        return [
            LandingEllipse(**a.properties["ellipse"]) for a in self.artefacts if a.kind == "ellipse"
        ]


def _finite(value: Any) -> Any:
    """JSON-safe copy: NaN/inf become None, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def save_traverse(
    mission_id: str, traverse: gpd.GeoDataFrame, *, name: str | None = None, db: Any = None
) -> Any:
    """Store a :func:`plan_traverse` result as one artefact (a MultiLineString of its legs)."""
    from marsgis.db import plans

    legs = [
        {k: _finite(row[k]) for k in _LEG_COLUMNS if k in row} for _, row in traverse.iterrows()
    ]
    geom = MultiLineString([LineString(g.coords) for g in traverse.geometry])
    props = {"legs": legs, "attrs": _finite(dict(traverse.attrs))}
    label = name or str(traverse.attrs.get("name", "traverse"))
    return plans.add_artefact(mission_id, "traverse", label, geom, properties=props, db=db)


def traverse_from_artefact(artefact: Any) -> gpd.GeoDataFrame:
    """Rebuild the per-leg GeoDataFrame of a stored traverse artefact."""
    legs = artefact.properties.get("legs", [])
    geoms = list(getattr(artefact.geometry, "geoms", [artefact.geometry]))
    if len(geoms) != len(legs):
        raise ValidationError(
            f"artefact {artefact.id} holds {len(geoms)} lines but {len(legs)} leg records; it was "
            "not written by marsgis.planning"
        )
    gdf = gpd.GeoDataFrame(legs, geometry=geoms, crs=MARS_GEOGRAPHIC)
    gdf.attrs = dict(artefact.properties.get("attrs", {}))
    return gdf


def load_mission_plan(mission_id: str, db: Any = None) -> StoredPlan:
    """Load a stored mission with its tasks and artefacts."""
    from marsgis import db as store
    from marsgis.db import plans

    mission = store.get_mission(mission_id, db=db)
    return StoredPlan(
        mission=mission,
        tasks=tuple(plans.list_tasks(mission.id, db=db)),
        artefacts=tuple(plans.list_artefacts(mission.id, db=db)),
    )


def plan_mission(
    name: str,
    *,
    lat: float,
    lon: float,
    dem: xr.DataArray,
    constraints: Any = None,
    when: datetime | date | str | None = None,
    waypoints: Sequence[tuple[float, float]] = (),
    targets: Any = None,
    azimuth_deg: float | None = None,
    max_slope: float | None = None,
    mission_type: str | None = None,
    description: str = "",
    objectives: Sequence[str] = (),
    tasks: Sequence[str] | None = None,
) -> MissionPlan:
    """Plan a mission at a target: ellipse evaluation, traverse, risk and a task list.

    Parameters
    ----------
    name
        Mission name.
    lat, lon
        Target (landing point, or traverse start).
    dem
        DEM covering the ellipse and the traverse.
    constraints
        Constraint set or preset name: evaluates its 3σ ellipse at the target. None skips
        the landing part.
    when
        Date of landing or of the drive: drives the season and power terms of the risk.
        None skips the risk assessment.
    waypoints
        ``(lat, lon)`` points to drive to from the target, in order (the last is the goal).
    targets
        Science targets of the ellipse evaluation.
    azimuth_deg, max_slope
        Ellipse azimuth; traverse slope limit.
    mission_type
        Default ``"landing"`` with constraints, else ``"traverse"``.
    description, objectives
        Stored with the mission.
    tasks
        Task titles; default: one per step of the plan.
    """
    la, lo = validate_latlon(lat, lon)
    lat_f, lon_f = float(la), float(lo)
    cs = None if constraints is None else load_constraints(constraints)
    ellipse = evaluation = None
    if cs is not None:
        ellipse = LandingEllipse.from_constraints(cs, lat_f, lon_f, azimuth_deg=azimuth_deg)
        evaluation = evaluate_ellipse(ellipse, dem, cs, targets=targets)
    traverse = None
    if waypoints:
        pts = [(float(p[0]), float(p[1])) for p in waypoints]
        traverse = plan_traverse(
            dem, (lat_f, lon_f), pts[-1], via=pts[:-1], max_slope=max_slope, name=f"{name} traverse"
        )
    risk = None
    when_text = None
    if when is not None:
        risk = assess_risk(
            lat=lat_f,
            lon=lon_f,
            when=when,
            traverse=traverse,
            ellipse=evaluation if traverse is None else None,
        )
        when_text = str(risk.details["date_utc"])
    if tasks is None:
        default: list[str] = []
        if cs is not None:
            default += [f"Review the {cs.name} landing ellipse", "Land"]
        if traverse is not None:
            default += [f"Drive leg {i + 1}" for i in range(len(traverse))]
        tasks = default
    mtype = mission_type or ("landing" if cs is not None else "traverse")
    return MissionPlan(
        name=name,
        lat=lat_f,
        lon=lon_f,
        mission_type=mtype,
        description=description,
        objectives=tuple(objectives),
        constraints=cs,
        ellipse=ellipse,
        evaluation=evaluation,
        traverse=traverse,
        risk=risk,
        tasks=tuple(tasks),
        when=when_text,
    )
