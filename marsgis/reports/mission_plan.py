"""What the mission-plan report shows: a stored mission, its plan, risk, tasks and history.

:func:`mission_report` loads everything the report needs from the mission store and
assesses the risk for the report's date with :func:`marsgis.planning.assess_risk`, on the
same terrain inputs :func:`marsgis.planning.plan_mission` used: the stored traverse when
there is one, else the stored landing-ellipse evaluation. :func:`plan_figure` draws the plan
on shaded MOLA relief with matplotlib (a static figure, nothing fetched).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from marsgis.dates import to_utc
from marsgis.exceptions import ValidationError

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr
    from matplotlib.figure import Figure

    from marsgis.db import Engine, StatusChange, StoredPlan
    from marsgis.planning import EllipseEvaluation, RiskAssessment

__all__ = [
    "format_lat_lon",
    "MissionReport",
    "ellipse_evaluation_from_artefact",
    "mission_report",
    "plan_figure",
    "report_risk",
]

_RISK_ROWS = ("score", "terrain", "season", "resources")
_ELLIPSE_COLUMNS = (
    "name", "semi-axes (km)", "azimuth (°)", "constraints", "cells", "safety", "slope p95 (°)",
    "not evaluated", "warning",
)  # fmt: skip


def format_lat_lon(lat: float, lon: float, digits: int = 4) -> str:
    """A position as people read it: hemisphere letters, no signs.

    >>> format_lat_lon(-4.5895, 137.4417)
    '4.5895° S, 137.4417° E'
    >>> format_lat_lon(18.4447, -77.45)
    '18.4447° N, 77.4500° W'
    """
    ns = "S" if lat < 0 else "N"
    ew = "W" if lon < 0 else "E"
    return f"{abs(lat):.{digits}f}° {ns}, {abs(lon):.{digits}f}° {ew}"


def ellipse_evaluation_from_artefact(artefact: Any) -> EllipseEvaluation | None:
    """Rebuild the :class:`~marsgis.planning.EllipseEvaluation` stored with an ellipse artefact.

    Returns None when the artefact was stored without its evaluation.
    """
    from marsgis.planning import EllipseEvaluation, LandingEllipse

    props = dict(artefact.properties)
    stored = props.get("evaluation")
    if not stored:
        return None
    known = {
        "ellipse", "constraints", "n_cells", "cell_area_km2", "ellipse_area_km2",
        "fail_fraction", "fail_any", "safety", "not_evaluated", "science", "science_parts",
        "few_cells", "warnings",
    }  # fmt: skip

    def number(value: Any) -> float:
        return math.nan if value is None else float(value)

    return EllipseEvaluation(
        ellipse=LandingEllipse(**stored.get("ellipse", props.get("ellipse", {}))),
        constraints=str(stored.get("constraints", "")),
        n_cells=int(stored.get("n_cells") or 0),
        cell_area_km2=number(stored.get("cell_area_km2")),
        fail_fraction={k: number(v) for k, v in dict(stored.get("fail_fraction", {})).items()},
        fail_any=number(stored.get("fail_any")),
        not_evaluated={str(k): str(v) for k, v in dict(stored.get("not_evaluated", {})).items()},
        stats={k: number(v) for k, v in stored.items() if k not in known},
        science=number(stored.get("science")),
        science_parts={k: number(v) for k, v in dict(stored.get("science_parts", {})).items()},
    )


def report_risk(plan: StoredPlan, when: datetime | date | str) -> RiskAssessment:
    """The risk of a stored plan at ``when``, on the terrain inputs the plan was made with.

    The stored traverses (all legs together) when there are any, else the stored ellipse
    evaluation, else no terrain term (as :func:`marsgis.planning.assess_risk` documents).
    """
    import geopandas as gpd
    import pandas as pd

    from marsgis.planning import assess_risk

    mission = plan.mission
    traverses = plan.traverses()
    if traverses:
        legs = gpd.GeoDataFrame(pd.concat(traverses, ignore_index=True), crs=traverses[0].crs)
        legs.attrs = dict(traverses[0].attrs)
        return assess_risk(lat=mission.lat, lon=mission.lon, when=when, traverse=legs)
    evaluations = [
        e
        for a in plan.artefacts
        if a.kind == "ellipse" and (e := ellipse_evaluation_from_artefact(a)) is not None
    ]
    ellipse = evaluations[0] if evaluations else None
    return assess_risk(lat=mission.lat, lon=mission.lon, when=when, ellipse=ellipse)


def _when(value: datetime | date | str | None) -> datetime:
    return datetime.now(UTC) if value is None else to_utc(value, what="report date")


@dataclass(frozen=True)
class MissionReport:
    """A stored mission with everything the mission-plan report shows.

    Attributes
    ----------
    plan
        The mission, its tasks and artefacts (:func:`marsgis.db.load_plan`).
    history
        Its status changes, oldest first.
    when
        The report date (UTC) the risk is assessed for.
    risk
        :func:`report_risk` of the plan at ``when``.
    """

    plan: StoredPlan
    history: tuple[StatusChange, ...]
    when: datetime
    risk: RiskAssessment

    @property
    def mission(self) -> Any:
        """The stored :class:`marsgis.db.Mission`."""
        return self.plan.mission

    def summary(self) -> pd.DataFrame:
        """One column of key facts: name, id, type, status, target, scores, report date."""
        import pandas as pd

        m = self.mission
        rows = {
            "name": m.name,
            "id": m.id,
            "type": m.mission_type,
            "status": m.status,
            "target": format_lat_lon(m.lat, m.lon),
            "safety score": "—" if m.safety_score is None else f"{m.safety_score:.3f}",
            "science priority": (
                "—" if m.scientific_priority is None else f"{m.scientific_priority:.3f}"
            ),
            "objectives": "; ".join(map(str, m.objectives)) or "—",
            "report date (UTC)": self.when.isoformat(),
            "planned on": m.created_at.isoformat(timespec="seconds"),
        }
        return pd.DataFrame({"value": list(rows.values())}, index=list(rows))

    def risk_table(self) -> pd.DataFrame:
        """Risk score and components at the report date, beside those stored at planning.

        A component not evaluated (its input missing: terrain without a traverse or an
        ellipse evaluation) has no value (NaN) and weight 0, and its ``note`` says "not
        evaluated" and why; the score is the weighted mean of the evaluated components.
        """
        import pandas as pd

        stored = dict(self.mission.risk_assessment or {})
        stored_parts = dict(stored.get("components", {}))
        stored_missing = dict(stored.get("not_evaluated", {}))

        def at_planning(key: str) -> float:
            value = stored.get("score") if key == "score" else stored_parts.get(key)
            return math.nan if value is None else float(value)

        def note(key: str) -> str:
            # short (pandas shows 50 characters); the reasons are in risk.not_evaluated
            notes = []
            if key in self.risk.not_evaluated:
                notes.append("not evaluated")
            if key in stored_missing:
                notes.append("not evaluated at planning")
            return "; ".join(notes)

        now = {"score": self.risk.score, **self.risk.components}
        frame = pd.DataFrame(
            {
                "report date": [round(float(now.get(k, math.nan)), 4) for k in _RISK_ROWS],
                "at planning": [round(at_planning(k), 4) for k in _RISK_ROWS],
                # the score is the weighted mean: its row shows the weights' total
                "weight": [
                    sum(self.risk.weights[k] for k in _RISK_ROWS[1:]),
                    *(self.risk.weights[k] for k in _RISK_ROWS[1:]),
                ],
                "note": [note(k) for k in _RISK_ROWS],
            },
            index=list(_RISK_ROWS),
        )
        frame.index.name = "risk"
        return frame

    def season(self) -> dict[str, Any]:
        """Mars season and sunlight at the report date (from the risk details)."""
        d = self.risk.details
        keys = (
            "date_utc", "ls_deg", "mars_year", "dust_storm_season", "daylight_h",
            "insolation_surface_w_m2", "tau",
        )  # fmt: skip
        return {k: d[k] for k in keys if k in d}

    def ellipse_table(self) -> pd.DataFrame:
        """The stored landing-ellipse evaluations (one row each).

        ``cells`` is how many DEM cells the statistics come from; ``warning`` flags fewer than
        :data:`marsgis.planning.ellipses.MIN_ELLIPSE_CELLS`.
        """
        import pandas as pd

        rows = []
        for a in self.plan.artefacts:
            if a.kind != "ellipse":
                continue
            ev = ellipse_evaluation_from_artefact(a)
            e = dict(a.properties.get("ellipse", {}))
            rows.append(
                {
                    "name": a.name,
                    "semi-axes (km)": f"{e.get('semi_major_km')} × {e.get('semi_minor_km')}",
                    "azimuth (°)": e.get("azimuth_deg"),
                    "constraints": None if ev is None else ev.constraints,
                    "cells": None if ev is None else ev.n_cells,
                    "safety": None if ev is None else round(ev.safety, 4),
                    "slope p95 (°)": None
                    if ev is None
                    else round(ev.stats.get("slope_p95_deg", math.nan), 2),
                    "not evaluated": None if ev is None else ", ".join(sorted(ev.not_evaluated)),
                    "warning": None
                    if ev is None
                    else (f"only {ev.n_cells} cells: use a finer DEM" if ev.few_cells else ""),
                }
            )
        return pd.DataFrame(rows, columns=_ELLIPSE_COLUMNS).set_index("name")

    def traverse_table(self) -> pd.DataFrame:
        """The legs of the stored traverses (length, slope, drive time, energy)."""
        import pandas as pd

        columns = {
            "leg": "leg", "length_m": "length (m)", "max_slope_deg": "max slope (°)",
            "elevation_gain_m": "gain (m)", "drive_time_h": "drive (h)", "energy_wh": "energy (Wh)",
        }  # fmt: skip
        frames = []
        for route in self.plan.traverses():
            table = pd.DataFrame(route.drop(columns="geometry"))
            table = table[[c for c in columns if c in table]].rename(columns=columns)
            table.insert(0, "traverse", str(route.attrs.get("name", "traverse")))
            frames.append(table)
        if not frames:
            frames = [pd.DataFrame(columns=["traverse", *columns.values()])]
        return pd.concat(frames, ignore_index=True).round(2).set_index(["traverse", "leg"])

    def tasks_table(self) -> pd.DataFrame:
        """The mission's tasks in order, with their status."""
        import pandas as pd

        return pd.DataFrame(
            [{"#": t.position + 1, "task": t.title, "status": t.status} for t in self.plan.tasks],
            columns=["#", "task", "status"],
        ).set_index("#")

    def history_table(self) -> pd.DataFrame:
        """The status history, oldest first."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "when (UTC)": h.changed_at.isoformat(timespec="seconds"),
                    "from": h.from_status or "—",
                    "to": h.to_status,
                    "note": h.note or "",
                    "by": h.changed_by or "",
                }
                for h in self.history
            ],
            columns=["when (UTC)", "from", "to", "note", "by"],
        ).set_index("when (UTC)")


def mission_report(
    mission_id: str,
    *,
    when: datetime | date | str | None = None,
    db: str | Engine | None = None,
) -> MissionReport:
    """Load a stored mission's plan, history and its risk at ``when`` (default now).

    Raises
    ------
    NotFoundError
        No mission with that id.
    ValidationError
        A bad id or date.
    """
    from marsgis.db import load_plan, status_history

    if mission_id is None or not str(mission_id).strip():
        raise ValidationError(
            "the mission-plan report needs a mission id; give one with -p mission_id ID "
            "(list them with `marsgis mission list`)"
        )
    at = _when(when)
    plan = load_plan(str(mission_id).strip(), db=db)
    history = tuple(status_history(plan.mission.id, db=db))
    return MissionReport(plan=plan, history=history, when=at, risk=report_risk(plan, at))


def _plan_bounds(plan: StoredPlan) -> tuple[float, float, float, float]:
    from shapely.geometry import Point
    from shapely.ops import unary_union

    m = plan.mission
    shapes = [Point(m.lon, m.lat), *(a.geometry for a in plan.artefacts)]
    west, south, east, north = unary_union(shapes).bounds
    return float(west), float(south), float(east), float(north)


def _pick_dem(bounds: tuple[float, float, float, float]) -> xr.DataArray:
    import marsgis
    from marsgis.catalog import finest_dem

    return marsgis.open_dem(finest_dem(bounds))


def plan_figure(
    plan: StoredPlan,
    *,
    dem: xr.DataArray | None = None,
    margin_deg: float | None = None,
    title: str | None = None,
) -> Figure:
    """A map of the plan on shaded relief: the target, landing ellipses and traverses.

    Parameters
    ----------
    plan
        A stored plan (:func:`marsgis.db.load_plan`).
    dem
        A geographic-degree DEM covering the plan; default the shipped Gale MOLA window when
        the plan lies inside it, else the global MOLA grid.
    margin_deg
        Map margin around the plan (default: a third of its extent, at least 0.1°).
    title
        Figure title (default the mission name).

    Returns
    -------
    matplotlib.figure.Figure
        Elevation with hillshade, axes in degrees; the figure is not shown or closed.
    """
    import numpy as np
    from matplotlib.figure import Figure

    from marsgis import terrain

    west, south, east, north = _plan_bounds(plan)
    grid = dem if dem is not None else _pick_dem((west, south, east, north))
    shift = 360.0 if float(grid.x.max()) > 180.0 and west < 0 else 0.0
    pad = margin_deg if margin_deg is not None else max(0.1, max(east - west, north - south) / 3)
    x0, x1 = west + shift - pad, east + shift + pad
    y0, y1 = max(south - pad, -90.0), min(north + pad, 90.0)
    window = grid.rio.clip_box(minx=x0, miny=y0, maxx=x1, maxy=y1)
    if window.shape[0] < 3 or window.shape[1] < 3:
        raise ValidationError(
            f"the DEM has only {window.shape} cells around the plan; give a finer dem= or a "
            "larger margin_deg="
        )
    shade = terrain.hillshade(window)
    extent = (
        float(window.x.min()),
        float(window.x.max()),
        float(window.y.min()),
        float(window.y.max()),
    )
    fig = Figure(figsize=(8, 6.5), layout="constrained")
    ax = fig.add_subplot()
    values = np.asarray(window.values, dtype=float)
    low, high = float(np.nanmin(values)), float(np.nanmax(values))
    elev = ax.imshow(values, extent=extent, origin="upper", cmap="gist_earth", vmin=low, vmax=high)
    ax.imshow(
        np.asarray(shade.values, dtype=float),
        extent=extent,
        origin="upper",
        cmap="gray",
        alpha=0.35,
    )
    fig.colorbar(elev, ax=ax, label="elevation (m, MOLA areoid)", shrink=0.8)
    for artefact in plan.artefacts:
        geoms = list(getattr(artefact.geometry, "geoms", [artefact.geometry]))
        for geom in geoms:
            if artefact.kind == "ellipse":
                xs, ys = geom.exterior.xy
                ax.plot(np.asarray(xs) + shift, ys, color="gold", lw=2, label=artefact.name)
            else:
                xs, ys = geom.xy
                ax.plot(np.asarray(xs) + shift, ys, color="crimson", lw=2, label=artefact.name)
    m = plan.mission
    ax.plot(m.lon + shift, m.lat, marker="*", ms=16, color="white", mec="black", label="target")
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    # outside the map, to its right: the legend never covers the terrain or the plan
    ax.legend(
        unique.values(),
        unique.keys(),
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        borderaxespad=0.0,
        fontsize="small",
    )
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_aspect(1.0 / max(math.cos(math.radians(m.lat)), 0.05))
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")
    ax.set_title(title if title is not None else m.name)
    return fig
