"""A mission plan: a landing ellipse, traverses, a risk assessment and tasks, planned together.

:func:`plan_mission` evaluates the landing ellipse of a constraint set at the target, plans
the traverses to the given waypoints, assesses the risk for the date, and returns a
:class:`MissionPlan`. This module computes plans and never touches the database: a plan says
what its mission record holds (:meth:`MissionPlan.mission_fields`) and which artefacts it has
(:meth:`MissionPlan.artefacts`, :class:`PlanArtefact`: the ellipse polygon, the traverse lines
with their per-leg records). :func:`marsgis.db.save_plan` stores all of it in one transaction
and :func:`marsgis.db.load_plan` reads it back; :func:`traverse_from_artefact` rebuilds a
stored traverse. The status lifecycle (planned → active → completed | aborted, with history)
is :func:`marsgis.db.set_status`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

import geopandas as gpd
import numpy as np
import xarray as xr
from shapely.geometry import LineString, MultiLineString
from shapely.geometry.base import BaseGeometry

from marsgis.crs import MARS_GEOGRAPHIC, validate_latlon
from marsgis.exceptions import ValidationError
from marsgis.geo import lon180
from marsgis.planning.constraints import ConstraintSet, load_constraints
from marsgis.planning.ellipses import EllipseEvaluation, LandingEllipse, evaluate_ellipse
from marsgis.planning.risk import RiskAssessment, assess_risk
from marsgis.planning.traverse import plan_traverse, route_summary

__all__ = [
    "OPEN_STATUSES",
    "ROUTE_MISSION_TYPES",
    "MissionPlan",
    "PlanArtefact",
    "ellipse_artefact",
    "plan_mission",
    "route_target_problem",
    "traverse_artefact",
    "traverse_from_artefact",
]

_LEG_COLUMNS = (
    "leg", "from_lat", "from_lon", "to_lat", "to_lon", "length_m", "great_circle_m", "cost",
    "elevation_gain_m", "elevation_loss_m", "max_slope_deg", "mean_slope_deg", "drive_time_h",
    "energy_wh", "n_cells",
)  # fmt: skip


@dataclass(frozen=True)
class MissionPlan:
    """Everything planned for a mission, not yet stored (see :func:`marsgis.db.save_plan`)."""

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
            out["traverse"] = route_summary(self.traverse)
        if self.risk is not None:
            out["risk"] = self.risk.to_dict()
        return out

    def mission_fields(self) -> dict[str, Any]:
        """The mission record of this plan, as :func:`marsgis.db.add_mission` takes it."""
        ev = self.evaluation
        return {
            "name": self.name,
            "lat": self.lat,
            "lon": self.lon,
            "mission_type": self.mission_type,
            "description": self.description,
            "objectives": list(self.objectives),
            "constraints": None if self.constraints is None else self.constraints.to_dict(),
            "risk_assessment": None if self.risk is None else finite_json(self.risk.to_dict()),
            "safety_score": None if ev is None else float(np.clip(ev.safety, 0.0, 1.0)),
            "scientific_priority": None if ev is None else float(np.clip(ev.science, 0.0, 1.0)),
        }

    def artefacts(self) -> tuple[PlanArtefact, ...]:
        """The geometries of this plan to store with the mission: ellipse first, then traverse."""
        out: list[PlanArtefact] = []
        if self.ellipse is not None:
            out.append(ellipse_artefact(self.ellipse, self.evaluation))
        if self.traverse is not None:
            out.append(traverse_artefact(self.traverse))
        return tuple(out)


@dataclass(frozen=True)
class PlanArtefact:
    """A geometry of a plan with its JSON-ready properties, as the mission store keeps it.

    ``kind`` is ``"ellipse"`` or ``"traverse"``; ``geometry`` is in lon/lat °E on the Mars
    sphere (``IAU_2015:49900``).
    """

    kind: str
    name: str
    geometry: BaseGeometry
    properties: dict[str, Any] = field(default_factory=dict)


class ArtefactLike(Protocol):
    """What :func:`traverse_from_artefact` reads: a stored artefact's geometry and properties."""

    @property
    def id(self) -> int: ...

    @property
    def geometry(self) -> BaseGeometry: ...

    @property
    def properties(self) -> dict[str, Any]: ...


def finite_json(value: Any) -> Any:
    """JSON-safe copy: NaN/inf become None, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def ellipse_artefact(
    ellipse: LandingEllipse,
    evaluation: EllipseEvaluation | None = None,
    *,
    name: str = "landing ellipse",
) -> PlanArtefact:
    """A landing ellipse (and its evaluation, if any) as one artefact: the ellipse polygon.

    The properties keep the ellipse's parameters and the evaluation's figures (JSON-safe).
    """
    props: dict[str, Any] = {"ellipse": ellipse.to_dict()}
    if evaluation is not None:
        props["evaluation"] = finite_json(evaluation.to_dict())
    return PlanArtefact("ellipse", name, ellipse.polygon(), props)


def traverse_artefact(traverse: gpd.GeoDataFrame, *, name: str | None = None) -> PlanArtefact:
    """A :func:`plan_traverse` result as one artefact: a MultiLineString of its legs.

    The per-leg statistics and the route's attributes go into the properties, so that
    :func:`traverse_from_artefact` rebuilds the same GeoDataFrame.
    """
    legs = [
        {k: finite_json(row[k]) for k in _LEG_COLUMNS if k in row} for _, row in traverse.iterrows()
    ]
    geom = MultiLineString([LineString(g.coords) for g in traverse.geometry])
    props = {"legs": legs, "attrs": finite_json(dict(traverse.attrs))}
    label = name or str(traverse.attrs.get("name", "traverse"))
    return PlanArtefact("traverse", label, geom, props)


def traverse_from_artefact(artefact: ArtefactLike) -> gpd.GeoDataFrame:
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


#: Mission statuses that can still take a new route or ellipse.
OPEN_STATUSES = ("planned", "active")
#: Mission types that drive on the ground (an orbital mission takes no rover route).
ROUTE_MISSION_TYPES = ("landing", "traverse", "sample_return", "survey", "other")


def route_target_problem(mission: Any, bounds: Sequence[float]) -> str | None:
    """Why ``mission`` cannot take a route planned inside ``bounds``; None when it can.

    A route belongs to a planned or active ground mission (not orbital) whose target lies
    inside the ``(west, south, east, north)`` box in degrees (°E in −180–180 or 0–360) of the
    terrain the route was planned on.

    >>> from types import SimpleNamespace as M
    >>> gale = (137.0, -5.5, 138.0, -4.0)
    >>> route_target_problem(M(name="Gale", status="active", mission_type="landing",
    ...                        lat=-4.5895, lon=137.4417), gale) is None
    True
    >>> route_target_problem(M(name="Olympus", status="active", mission_type="orbital",
    ...                        lat=18.65, lon=-133.8), gale)
    "'Olympus' is an orbital mission: a rover route belongs to a ground mission"
    """
    name = getattr(mission, "name", "the mission")
    if mission.status not in OPEN_STATUSES:
        return (
            f"{name!r} is {mission.status}: a route can only be added to a planned or active "
            "mission; choose another or save as a new mission"
        )
    if mission.mission_type not in ROUTE_MISSION_TYPES:
        return (
            f"{name!r} is an {mission.mission_type} mission: a rover route belongs to a ground "
            "mission"
        )
    west, south, east, north = (float(v) for v in bounds)
    lon, w, e = (float(lon180(v)) for v in (mission.lon, west, east))
    inside_lon = w <= lon <= e if w <= e else (lon >= w or lon <= e)
    if not (south <= mission.lat <= north and inside_lon):
        return (
            f"{name!r} targets {mission.lat:.4f}°, {lon:.4f}°E, outside the terrain this route "
            f"was planned on ({w:.2f}–{e:.2f}°E, {south:.2f}–{north:.2f}°N); save it as a new mission"
        )
    return None


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
    lat_f, lon_f = float(la), float(lon180(float(lo)))
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
