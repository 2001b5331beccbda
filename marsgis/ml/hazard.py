"""Hazard rasters in [0, 1] for planning, from terrain derivatives and terrain classes.

A hazard raster says, per cell, how dangerous driving there is: 0 benign, 1 impassable. It is
built from slope (and, optionally, roughness) with :func:`terrain_hazard`, from a terrain
class raster (:func:`marsgis.ml.classify_raster`) with :func:`class_hazard`, and combined with
:func:`combine_hazards` (cell-wise maximum).

The traverse planners take multiplicative cost factors, not hazards (``cost_factor=`` of
:func:`marsgis.planning.plan_traverse` and :func:`marsgis.planning.cost_surface`: 1 nominal,
``inf`` impassable). :func:`hazard_factor` is the one documented conversion::

    factor = 1 + weight · hazard      where hazard < impassable_at
    factor = inf                      where hazard ≥ impassable_at

so with the defaults (``weight=4``, ``impassable_at=1``) a cell of hazard 0.5 costs three
times as much to cross as a benign one, and the planner detours around it when the detour
is less than three times longer. :func:`marsgis.planning.evaluate_ellipse` takes the 0–1
hazard itself (``hazard=``, with a ``hazard_threshold``).

Default class hazards (:data:`DEFAULT_CLASS_HAZARD`) are engineering judgements, not
measurements: dunes are sand traps (Spirit was lost in soft sand, Opportunity was stuck
five weeks in the "Purgatory" ripple), ejecta and crater rims are blocky and steep, slope
streaks lie on steep slopes, swiss-cheese pits and araneiform ("spider") troughs cut the
polar ice. Pass your own mapping for your rover.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import rioxarray  # noqa: F401  (registers .rio)
import xarray as xr

from marsgis._options import get_option
from marsgis.exceptions import ValidationError

__all__ = [
    "DEFAULT_CLASS_HAZARD",
    "class_hazard",
    "combine_hazards",
    "hazard_factor",
    "terrain_hazard",
]

#: Hazard of each HiRISE landmark class for a Curiosity-class rover (judgements, see module).
DEFAULT_CLASS_HAZARD: Mapping[str, float] = {
    "other": 0.1,
    "crater": 0.6,
    "dark dune": 0.9,
    "slope streak": 0.7,
    "bright dune": 0.8,
    "impact ejecta": 0.7,
    "swiss cheese": 0.8,
    "spider": 0.5,
}


def terrain_hazard(
    dem: xr.DataArray,
    *,
    max_slope: float | None = None,
    max_roughness_m: float | None = None,
    name: str = "hazard",
) -> xr.DataArray:
    """Hazard in [0, 1] from slope and (optionally) roughness of a DEM.

    ``hazard = clip(slope / max_slope, 0, 1)``, and when ``max_roughness_m`` is given the
    maximum of that and ``clip(roughness / max_roughness_m, 0, 1)`` (roughness: the largest
    elevation difference in the 3×3 window, :func:`marsgis.terrain.roughness`). Hazard 1
    is reached at the slope limit, where the planner refuses cells anyway.

    Parameters
    ----------
    dem
        Elevations in metres, dims ``("y", "x")``, Mars CRS (numpy or dask backed).
    max_slope
        Slope in degrees at which the hazard reaches 1 (default: option ``max_slope_deg``).
    max_roughness_m
        Roughness in metres at which the hazard reaches 1 (None: roughness not used). It
        depends on the DEM's resolution: a step a rover cannot climb at 1 m cells (about a
        wheel diameter, 0.5 m for Curiosity) is nothing at MOLA's 463 m.
    name
        Name of the result.

    Returns
    -------
    xarray.DataArray
        float32 hazard on the DEM's grid, NaN where the slope is unknown (nodata, edges).
    """
    from marsgis import terrain

    limit = float(get_option("max_slope_deg") if max_slope is None else max_slope)
    if not 0.0 < limit < 90.0:
        raise ValidationError(f"max_slope={max_slope!r} must be a number of degrees in (0, 90)")
    slope = terrain.slope(dem)
    hazard = (slope / limit).clip(0.0, 1.0)
    if max_roughness_m is not None:
        if not (np.isfinite(max_roughness_m) and max_roughness_m > 0):
            raise ValidationError(
                f"max_roughness_m={max_roughness_m!r} must be a positive number of metres"
            )
        rough = (terrain.roughness(dem) / float(max_roughness_m)).clip(0.0, 1.0)
        hazard = xr.where(hazard.isnull() | rough.isnull(), np.nan, np.maximum(hazard, rough))
    out = hazard.astype(np.float32)
    out.name = name
    out.attrs = {
        "long_name": "terrain hazard (0 benign, 1 impassable)",
        "units": "1",
        "max_slope_deg": limit,
        "max_roughness_m": float("nan") if max_roughness_m is None else float(max_roughness_m),
    }
    return _with_crs(out, dem)


def class_hazard(
    classification: xr.Dataset | xr.DataArray,
    hazards: Mapping[str, float] | None = None,
    *,
    name: str = "hazard",
) -> xr.DataArray:
    """Hazard in [0, 1] from a terrain class raster.

    Parameters
    ----------
    classification
        The Dataset of :func:`marsgis.ml.classify_raster`, or its ``class`` DataArray
        (class ids, −1 for nodata, with the class names in ``attrs["classes"]``). When the
        Dataset holds per-class ``probability`` the hazard is the expected value
        ``Σ p_k · hazard_k`` — of the classifier's *calibrated* probabilities (prior-corrected
        to the natural class mix, :mod:`marsgis.ml.calibration`), which is what
        ``classify_raster`` returns for a calibrated model; otherwise it is the hazard of the
        predicted class.
    hazards
        Class name → hazard in [0, 1]; default :data:`DEFAULT_CLASS_HAZARD`. Every class of
        the classifier needs one.
    name
        Name of the result.

    Returns
    -------
    xarray.DataArray
        float32 hazard on the class raster's grid, NaN where the class is nodata.
    """
    table = dict(DEFAULT_CLASS_HAZARD if hazards is None else hazards)
    for key, value in table.items():
        if not (isinstance(value, (int, float)) and 0.0 <= float(value) <= 1.0):
            raise ValidationError(f"hazard of class {key!r} is {value!r}; give a number in [0, 1]")
    if isinstance(classification, xr.Dataset):
        if "class" not in classification:
            raise ValidationError(
                "the classification Dataset has no 'class' variable; pass the result of "
                "marsgis.ml.classify_raster"
            )
        cls = classification["class"]
        prob = classification.get("probability")
    else:
        cls, prob = classification, None
    classes = cls.attrs.get("classes")
    if not classes:
        raise ValidationError(
            "the class raster has no attrs['classes'] (its class names); pass the result of "
            "marsgis.ml.classify_raster"
        )
    missing = [c for c in classes if c not in table]
    if missing:
        raise ValidationError(
            f"no hazard for classes {missing!r}; give hazards= a value in [0, 1] for each of "
            f"{list(classes)!r}"
        )
    values = np.array([float(table[c]) for c in classes], dtype=np.float32)
    if prob is not None:
        weights = xr.DataArray(
            values, dims=("class_name",), coords={"class_name": prob["class_name"]}
        )
        out = (prob * weights).sum("class_name", skipna=False)
        out = out.where(cls >= 0)
    else:
        lookup = np.append(values, np.float32(np.nan))  # index -1 → NaN

        def _apply(c: Any) -> Any:
            return lookup[np.where(c >= 0, c, -1)]

        out = xr.apply_ufunc(_apply, cls, dask="parallelized", output_dtypes=[np.float32])
    out = out.astype(np.float32)
    out.name = name
    out.attrs = {
        "long_name": "terrain-class hazard (0 benign, 1 impassable)",
        "units": "1",
        "class_hazard": {c: float(table[c]) for c in classes},
    }
    return _with_crs(out, cls)


def combine_hazards(*layers: xr.DataArray, name: str = "hazard") -> xr.DataArray:
    """Cell-wise maximum of hazard rasters on one grid (NaN only where all are NaN)."""
    if not layers:
        raise ValidationError("combine_hazards needs at least one hazard raster")
    first = layers[0]
    for i, layer in enumerate(layers[1:], start=1):
        if layer.shape != first.shape:
            raise ValidationError(
                f"hazard layer {i} has shape {layer.shape!r}, layer 0 {first.shape!r}; put "
                "them on one grid (e.g. layer.rio.reproject_match(first))"
            )
    stacked = xr.concat(
        [la.drop_vars([c for c in la.coords if c not in la.dims]) for la in layers],
        dim="layer",
        join="override",
    )
    out = stacked.max("layer", skipna=True).astype(np.float32)
    out.name = name
    out.attrs = {"long_name": "combined hazard (maximum)", "units": "1"}
    return _with_crs(out, first)


def hazard_factor(
    hazard: xr.DataArray,
    *,
    weight: float = 4.0,
    impassable_at: float = 1.0,
    fill: float = 0.0,
    name: str = "hazard_factor",
) -> xr.DataArray:
    """Convert a 0–1 hazard raster to the planners' multiplicative cost factors.

    ``factor = 1 + weight · hazard`` where ``hazard < impassable_at``, ``inf`` (impassable)
    where ``hazard ≥ impassable_at``; pass the result as ``cost_factor=`` to
    :func:`marsgis.planning.plan_traverse` or :func:`marsgis.planning.cost_surface`.

    Parameters
    ----------
    hazard
        Hazard in [0, 1] (numpy or dask backed); values outside are an error (numpy) or
        clipped (dask, which is not read here).
    weight
        Extra cost per unit hazard (≥ 0): a cell of hazard ``h`` costs ``1 + weight·h`` times
        a benign one.
    impassable_at
        Hazard from which a cell is impassable, in (0, 1]; above 1 nothing is refused.
    fill
        Hazard assumed where the raster is NaN (0: unknown means nominal; 1 with
        ``impassable_at=1``: unknown means impassable).
    name
        Name of the result.

    Returns
    -------
    xarray.DataArray
        float64 factors ≥ 1 (``inf`` where impassable) on the hazard's grid.
    """
    if not (np.isfinite(weight) and weight >= 0):
        raise ValidationError(f"weight={weight!r} must be a finite number ≥ 0, e.g. 4")
    if not (impassable_at > 0 and not np.isnan(impassable_at)):
        raise ValidationError(
            f"impassable_at={impassable_at!r} must be > 0 (1: only hazard 1 is impassable; "
            "inf: nothing is)"
        )
    if not 0.0 <= fill <= 1.0:
        raise ValidationError(f"fill={fill!r} must be a hazard in [0, 1]")
    if not hasattr(hazard.data, "dask"):
        values = np.asarray(hazard.values, dtype=np.float64)
        finite = values[np.isfinite(values)]
        if finite.size and (finite.min() < 0.0 or finite.max() > 1.0):
            raise ValidationError(
                f"hazard values span {finite.min():g}..{finite.max():g}, outside [0, 1]; pass a "
                "0–1 hazard (terrain_hazard, class_hazard), not cost factors"
            )
    h = hazard.astype(np.float64).fillna(fill).clip(0.0, 1.0)
    out = xr.where(h >= impassable_at, np.inf, 1.0 + weight * h)
    out.name = name
    out.attrs = {
        "long_name": "hazard cost factor (1 nominal, inf impassable)",
        "units": "1",
        "weight": float(weight),
        "impassable_at": float(impassable_at),
        "fill": float(fill),
    }
    return _with_crs(out, hazard)


def _with_crs(out: xr.DataArray, like: xr.DataArray) -> xr.DataArray:
    crs = like.rio.crs
    return out.rio.write_crs(crs) if crs is not None else out
