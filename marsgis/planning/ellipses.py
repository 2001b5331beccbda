"""Landing ellipses on the Mars sphere and their evaluation against constraints and targets.

A :class:`LandingEllipse` is a centre, two semi-axes in km and the azimuth of the major
axis. It is defined in the azimuthal-equidistant tangent plane at its centre (distances from
the centre are great-circle distances), which is how delivery ellipses are drawn; its
polygon (:meth:`LandingEllipse.polygon`) has the area ``π a b`` on the sphere to within the
polygon's vertex count (checked against :class:`pyproj.Geod` in the tests).

:func:`evaluate_ellipse` reports, over the DEM cells whose centres fall inside the ellipse
and weighted by their true area: the fraction failing each constraint (see
:mod:`marsgis.planning.eligibility` for how each is evaluated), slope and relief statistics,
and a science value from user targets. With a 0–1 ``hazard`` raster (e.g.
:func:`marsgis.ml.terrain_hazard`, :func:`marsgis.ml.class_hazard`) cells at or above
``hazard_threshold`` count as failing (key ``"hazard"``), and the area-weighted mean and the
maximum hazard are reported (``hazard_mean``, ``hazard_max``).

The science value from targets is described in :mod:`marsgis.planning.targets`; the per-cell
layers shared with the site search live in :mod:`marsgis.planning.site_grid`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr
from shapely.geometry import Polygon

from marsgis.crs import validate_latlon
from marsgis.exceptions import ValidationError
from marsgis.geo import ellipse_polygon, local_en, lon180
from marsgis.planning.constraints import load_constraints
from marsgis.planning.eligibility import resolution_if_needed
from marsgis.planning.site_grid import SiteGrid, block_sizes, mark_infeasible, window_for
from marsgis.planning.targets import make_targets, science_value

__all__ = [
    "MIN_ELLIPSE_CELLS",
    "EllipseEvaluation",
    "LandingEllipse",
    "evaluate_ellipse",
]

#: Fewest DEM cells inside an ellipse for its statistics to describe the terrain: below it an
#: :class:`EllipseEvaluation` is flagged (``few_cells``, ``warnings``) and
#: :func:`evaluate_ellipse` warns. 30 cells: a p95 slope then rests on at least one or two
#: cells beyond it, and a failure fraction moves in steps of ≤ 3.3 %.
MIN_ELLIPSE_CELLS = 30

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class LandingEllipse:
    """A landing ellipse: centre (planetocentric °), semi-axes (km), major-axis azimuth (°).

    Use :meth:`from_constraints` to take the size from a preset's 3σ ellipse (whose published
    numbers are full axes: 78 × 10 km gives semi-axes 39 and 5 km). The centre's longitude
    may be given in 0–360 or −180–180 °E; it is kept in −180–180 °E (``lon``).
    """

    lat: float
    lon: float
    semi_major_km: float
    semi_minor_km: float
    azimuth_deg: float = 90.0

    def __post_init__(self) -> None:
        validate_latlon(self.lat, self.lon)
        object.__setattr__(self, "lon", lon180(float(self.lon)))
        a, b = float(self.semi_major_km), float(self.semi_minor_km)
        if not (math.isfinite(a) and math.isfinite(b) and a >= b > 0):
            raise ValidationError(
                f"ellipse semi-axes ({self.semi_major_km!r}, {self.semi_minor_km!r}) km must "
                "satisfy major ≥ minor > 0"
            )
        if not math.isfinite(float(self.azimuth_deg)):
            raise ValidationError(
                f"ellipse azimuth {self.azimuth_deg!r} must be a finite number of degrees"
            )

    @classmethod
    def from_constraints(
        cls,
        constraints: Any,
        lat: float,
        lon: float,
        *,
        azimuth_deg: float | None = None,
        final: bool = False,
    ) -> LandingEllipse:
        """The 3σ ellipse of a constraint set (a preset name works) centred at ``(lat, lon)``.

        ``final=True`` takes the ellipse finally flown where the set has one (Mars 2020).
        """
        cs = load_constraints(constraints)
        size = cs.final_ellipse_km if final and cs.final_ellipse_km is not None else cs.ellipse_km
        if size is None:
            raise ValidationError(
                f"constraint set {cs.name!r} has no ellipse size; give ellipse_km or build a "
                "LandingEllipse(lat, lon, semi_major_km, semi_minor_km) yourself"
            )
        az = cs.ellipse_azimuth_deg if azimuth_deg is None else float(azimuth_deg)
        return cls(float(lat), float(lon), size[0] / 2.0, size[1] / 2.0, az)

    @property
    def area_km2(self) -> float:
        """``π a b`` in km²."""
        return math.pi * self.semi_major_km * self.semi_minor_km

    def polygon(self, n: int = 120) -> Polygon:
        """The ellipse as a lon/lat polygon (°E, continuous around the centre's longitude)."""
        return ellipse_polygon(
            self.lat, self.lon, self.semi_major_km, self.semi_minor_km, self.azimuth_deg, n=n
        )

    def local_polygon(self, n: int = 120) -> Polygon:
        """The ellipse in its own tangent plane: (east, north) metres from the centre."""
        t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
        u = self.semi_major_km * 1000.0 * np.cos(t)
        v = self.semi_minor_km * 1000.0 * np.sin(t)
        az = math.radians(self.azimuth_deg)
        east = u * math.sin(az) + v * math.cos(az)
        north = u * math.cos(az) - v * math.sin(az)
        return Polygon(np.column_stack([east, north]))

    def contains(self, lat: npt.ArrayLike, lon: npt.ArrayLike) -> Any:
        """Whether points lie inside the ellipse (boolean array, or bool for scalars)."""
        east, north = local_en(self.lat, self.lon, lat, lon)
        inside = self.contains_en(east, north)
        return bool(inside) if np.ndim(inside) == 0 else inside

    def contains_en(self, east: FloatArray, north: FloatArray) -> BoolArray:
        """Whether points given in the ellipse's tangent plane lie inside it.

        ``east``, ``north``: metres from the centre, as :func:`marsgis.geo.local_en` gives them.
        """
        az = math.radians(self.azimuth_deg)
        u = east * math.sin(az) + north * math.cos(az)
        v = east * math.cos(az) - north * math.sin(az)
        a = self.semi_major_km * 1000.0
        b = self.semi_minor_km * 1000.0
        return np.asarray((u / a) ** 2 + (v / b) ** 2 <= 1.0)

    def to_dict(self) -> dict[str, float]:
        """``lat, lon, semi_major_km, semi_minor_km, azimuth_deg``."""
        return {
            "lat": self.lat,
            "lon": self.lon,
            "semi_major_km": self.semi_major_km,
            "semi_minor_km": self.semi_minor_km,
            "azimuth_deg": self.azimuth_deg,
        }


@dataclass(frozen=True)
class EllipseEvaluation:
    """The evaluation of one landing ellipse (see :func:`evaluate_ellipse`).

    Attributes
    ----------
    ellipse
        The ellipse evaluated.
    constraints
        Name of the constraint set.
    n_cells, cell_area_km2
        DEM cells inside the ellipse and their total area. Fewer than
        :data:`MIN_ELLIPSE_CELLS` cells make ``few_cells`` true and put a line in
        ``warnings``: the statistics then describe a handful of DEM cells, not the terrain.
    fail_fraction
        Constraint key → area fraction of the ellipse failing it (evaluated constraints).
    fail_any
        Area fraction failing at least one evaluated constraint (or without data).
    not_evaluated
        Constraint key → reason.
    stats
        ``elevation_mean_m``, ``relief_m`` (max − min elevation), ``slope_mean_deg``,
        ``slope_p95_deg``, ``slope_max_deg`` (Horn slope at the DEM's own resolution,
        ``slope_baseline_m``).
    science
        Science value in [0, 1]; ``science_parts`` gives each target's factor.
    """

    ellipse: LandingEllipse
    constraints: str
    n_cells: int
    cell_area_km2: float
    fail_fraction: dict[str, float]
    fail_any: float
    not_evaluated: dict[str, str]
    stats: dict[str, float]
    science: float
    science_parts: dict[str, float]

    @property
    def safety(self) -> float:
        """``1 − fail_any``."""
        return 1.0 - self.fail_any

    @property
    def few_cells(self) -> bool:
        """Whether the statistics come from fewer than :data:`MIN_ELLIPSE_CELLS` cells."""
        return self.n_cells < MIN_ELLIPSE_CELLS

    @property
    def warnings(self) -> tuple[str, ...]:
        """What the numbers cannot be trusted for (empty when nothing is wrong)."""
        if not self.few_cells:
            return ()
        return (_few_cells_message(self.n_cells, self.ellipse),)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return {
            "ellipse": self.ellipse.to_dict(),
            "constraints": self.constraints,
            "n_cells": self.n_cells,
            "cell_area_km2": self.cell_area_km2,
            "ellipse_area_km2": self.ellipse.area_km2,
            "fail_fraction": dict(self.fail_fraction),
            "fail_any": self.fail_any,
            "safety": self.safety,
            "not_evaluated": dict(self.not_evaluated),
            "few_cells": self.few_cells,
            "warnings": list(self.warnings),
            **self.stats,
            "science": self.science,
            "science_parts": dict(self.science_parts),
        }


def _few_cells_message(n_cells: int, ellipse: LandingEllipse) -> str:
    """The warning of an ellipse evaluated on fewer than :data:`MIN_ELLIPSE_CELLS` cells."""
    return (
        f"statistics from {n_cells} DEM cell(s) inside the {2 * ellipse.semi_major_km:g} × "
        f"{2 * ellipse.semi_minor_km:g} km ellipse (fewer than {MIN_ELLIPSE_CELLS}); the "
        "slopes, relief and failure fractions describe those cells, not the terrain: use a "
        "finer DEM"
    )


def evaluate_ellipse(
    ellipse: LandingEllipse,
    dem: xr.DataArray,
    constraints: Any,
    *,
    targets: Any = None,
    rocks: xr.DataArray | None = None,
    reach_km: float = 20.0,
    hazard: xr.DataArray | None = None,
    hazard_threshold: float = 0.5,
) -> EllipseEvaluation:
    """Evaluate a landing ellipse on a DEM: constraint failures, terrain statistics, science.

    Parameters
    ----------
    ellipse
        The ellipse (see :meth:`LandingEllipse.from_constraints`).
    dem
        A DEM covering the whole ellipse (numpy or dask backed; only a window is read).
    constraints
        A constraint set or preset name.
    targets
        Science targets (see :func:`make_targets`).
    rocks
        Optional rock-abundance raster on the DEM's grid.
    reach_km
        Distance over which an outside target's value falls to zero.
    hazard
        Optional hazard raster in [0, 1] on the DEM's grid (0 benign, 1 impassable; NaN
        unknown, not counted as failing).
    hazard_threshold
        Cells with hazard ≥ this fail the ``"hazard"`` check.

    Raises
    ------
    CoordinateError
        The ellipse reaches beyond the DEM.
    ValidationError
        The ellipse holds no cell centre (a DEM far coarser than the ellipse).

    Warns
    -----
    UserWarning
        Fewer than :data:`MIN_ELLIPSE_CELLS` cell centres fall inside the ellipse (an MSL
        ellipse on 4 px/deg MOLA holds 2): the result says so in ``few_cells`` and
        ``warnings``.
    """
    cs = load_constraints(constraints)
    res = resolution_if_needed(dem, cs)
    kmax, step = block_sizes(dem, cs, res)
    rows, cols = window_for(dem, [ellipse.polygon()], 2 * kmax + 1, step)
    window = dem.isel(y=rows, x=cols)
    win_rocks = None if rocks is None else rocks.isel(y=rows, x=cols)
    grid = SiteGrid.build(window, cs, win_rocks, res)
    if hazard is not None:
        if hazard.shape != dem.shape:
            raise ValidationError(
                f"hazard raster has shape {hazard.shape!r}, the DEM {dem.shape!r}; put it on the "
                "DEM's grid"
            )
        if not 0.0 < hazard_threshold <= 1.0:
            raise ValidationError(f"hazard_threshold={hazard_threshold!r} must lie in (0, 1]")
        hz = np.asarray(hazard.isel(y=rows, x=cols).values, dtype=np.float64)
        grid.hazard = hz
        with np.errstate(invalid="ignore"):
            grid.fails["hazard"] = np.isfinite(hz) & (hz >= hazard_threshold)
    mark_infeasible(grid, dem, cs, res)
    ev = grid.evaluate(ellipse, slice(None), slice(None))
    if ev["n_cells"] == 0:
        raise ValidationError(
            f"no cell centre of DEM {dem.name!r} falls inside the {2 * ellipse.semi_major_km:g} × "
            f"{2 * ellipse.semi_minor_km:g} km ellipse; use a finer DEM"
        )
    if ev["n_cells"] < MIN_ELLIPSE_CELLS:
        warnings.warn(_few_cells_message(int(ev["n_cells"]), ellipse), UserWarning, stacklevel=2)
    tg = make_targets(targets)
    sci, parts = science_value(ellipse, tg, reach_km)
    return _evaluation(
        ellipse,
        cs.name,
        ev,
        missing=grid.not_evaluated,
        sci=sci,
        parts=parts,
        baseline=grid.slope_baseline_m,
    )


def _evaluation(
    ellipse: LandingEllipse,
    name: str,
    ev: dict[str, Any],
    *,
    missing: dict[str, str],
    sci: float,
    parts: dict[str, float],
    baseline: float,
) -> EllipseEvaluation:
    fails = {k[5:]: float(v) for k, v in ev.items() if k.startswith("fail_") and k != "fail_any"}
    stats: dict[str, float] = {
        k: float(ev[k])
        for k in (
            "elevation_mean_m",
            "relief_m",
            "slope_mean_deg",
            "slope_p95_deg",
            "slope_max_deg",
            "hazard_mean",
            "hazard_max",
        )
        if k in ev
    }
    stats["slope_baseline_m"] = baseline
    return EllipseEvaluation(
        ellipse=ellipse,
        constraints=name,
        n_cells=int(ev["n_cells"]),
        cell_area_km2=float(ev.get("cell_area_km2", 0.0)),
        fail_fraction=fails,
        fail_any=float(ev.get("fail_any", math.nan)),
        not_evaluated=dict(missing),
        stats=stats,
        science=sci,
        science_parts=parts,
    )
