"""Pydantic models of the planning routes (``/planning``) and of saving a plan to a mission.

Geometries are GeoJSON in ``IAU_2015:49900`` (``[lon, lat]`` degrees); the constraint set of a
request is a preset name of :data:`marsgis.planning.PRESETS` or a mapping of constraints
(:func:`marsgis.planning.constraint_set_from_dict`), never a file.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from marsgis.api.models import FeatureCollection, Point

__all__ = [
    "CheckOut",
    "ConstraintCheckOut",
    "EligibleArea",
    "SiteCheckIn",
    "SiteSearchIn",
    "SiteSearchOut",
    "TraverseFeature",
    "TraverseIn",
    "TraverseSaveIn",
]

_PRESET = Field(
    "msl",
    description="constraint preset: mer-a, mer-b, phoenix, msl, insight or mars2020",
    examples=["msl"],
)
_CONSTRAINTS = Field(
    None,
    description="a constraint set as a mapping (overrides preset), "
    "as marsgis.planning.constraint_set_from_dict takes it",
)
_DATASET = Field(
    None,
    description="a DEM of the catalog (mola, gale-mola, gale-1m); "
    "default: the finest shipped DEM that covers the request",
    examples=["gale-mola"],
)


class SiteCheckIn(BaseModel):
    """Body of ``POST /planning/sites/check``."""

    model_config = ConfigDict(extra="forbid")
    dataset: str | None = _DATASET
    site: Point
    preset: str = _PRESET
    constraints: dict[str, Any] | None = _CONSTRAINTS


class ConstraintCheckOut(BaseModel):
    """One constraint at the site: value found, limit, ``pass``/``fail``/``not evaluated``."""

    constraint: str
    limit: str
    value: float | None
    units: str
    status: Literal["pass", "fail", "not evaluated"]
    note: str


class CheckOut(BaseModel):
    """Every constraint of a set checked at one site (:func:`marsgis.planning.check_site`)."""

    dataset: str
    lat: float
    lon: float
    constraints: str
    dem: str
    eligible: bool
    complete: bool
    verdict: str
    checks: list[ConstraintCheckOut]


class SiteSearchIn(BaseModel):
    """Body of ``POST /planning/sites/search``."""

    model_config = ConfigDict(extra="forbid")
    dataset: str | None = _DATASET
    bbox: tuple[float, float, float, float] = Field(
        description="west, south, east, north degrees: where ellipse centres may lie",
        examples=[[137.0, -5.2, 137.8, -4.4]],
    )
    preset: str = _PRESET
    constraints: dict[str, Any] | None = _CONSTRAINTS
    targets: list[str] = Field(
        [], max_length=20, description="science targets: gazetteer feature names"
    )
    top: int = Field(5, ge=1, le=50, description="how many sites")
    weights: dict[str, float] | None = Field(
        None, description='{"safety": w1, "science": w2} (default 0.7, 0.3)'
    )
    azimuths: list[float] | None = Field(
        None, max_length=12, description="ellipse azimuths to try, degrees"
    )


class EligibleArea(BaseModel):
    """Eligible area of the box on the Mars sphere (:func:`marsgis.planning.eligible_area`)."""

    eligible_km2: float
    total_km2: float
    eligible_fraction: float
    pass_fraction: dict[str, float]
    not_evaluated: dict[str, str]
    complete: bool


class SiteSearchOut(BaseModel):
    """The eligible area of the box and the best landing ellipses in it, best first."""

    dataset: str
    constraints: str
    bbox: tuple[float, float, float, float]
    area: EligibleArea
    candidates: int
    not_evaluated: dict[str, str]
    sites: FeatureCollection


class TraverseIn(BaseModel):
    """Body of ``POST /planning/traverse``."""

    model_config = ConfigDict(extra="forbid")
    dataset: str = Field(description="a DEM of the catalog", examples=["gale-mola"])
    start: Point
    goal: Point
    max_slope_deg: float | None = Field(
        None, gt=0, le=90, description="slope limit, degrees (default 25)"
    )


class TraverseSaveIn(TraverseIn):
    """Body of ``POST /missions/{id}/plan/traverses``: a traverse to plan and store."""

    name: str | None = Field(None, max_length=200, description="label (default 'traverse')")


class TraverseFeature(BaseModel):
    """A planned route as a GeoJSON Feature (LineString, lon/lat °E)."""

    type: Literal["Feature"] = "Feature"
    id: int | None = None
    geometry: dict[str, Any]
    properties: dict[str, Any] = Field(
        description="length_m, cost, max_slope_deg, great_circle_m, drive_time_h, energy_wh, "
        "elevation_gain_m, elevation_loss_m, mean_slope_deg, n_cells, method, dataset, ..."
    )
