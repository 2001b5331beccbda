"""Landing-site engineering constraints: the types, and user-defined sets from dicts or YAML.

A :class:`ConstraintSet` holds what a landing system can tolerate: a latitude band, a
maximum MOLA elevation (enough atmosphere to decelerate through), slope limits each at the
length scale (baseline) it was specified at, a rock-abundance limit and the size of the 3σ
landing ellipse. The mission presets live in :mod:`marsgis.planning.presets`.

A user set is a mapping (or a YAML document, or a YAML file) with these keys, every one
optional except ``name``::

    name: my-lander
    base: msl                  # start from a preset and override what follows
    latitude: [-30, 30]        # [south, north], planetocentric degrees
    max_elevation_m: -1000     # MOLA elevation limit, metres above the areoid
    elevation_strict: true     # true: elevation < limit; false: elevation <= limit
    slopes:                    # each: slope < max_deg over baseline_m
      - {max_deg: 30, baseline_m: 2}
    max_rock_fraction: 0.1     # rock abundance (fraction of area covered) must stay below
    ellipse_km: [25, 20]       # full 3σ axes (major, minor), km
    ellipse_azimuth_deg: 90    # azimuth of the major axis, degrees clockwise from north
    description: free text
    source: where the numbers come from
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from marsgis.exceptions import ValidationError

__all__ = ["ConstraintSet", "SlopeLimit", "constraint_set_from_dict", "load_constraints"]


@dataclass(frozen=True)
class SlopeLimit:
    """``slope < max_deg`` measured over a horizontal length scale of ``baseline_m`` metres.

    ``label`` keeps the published wording where the baseline is a range (MSL's "2–5 m" is
    evaluated at its short end, 2 m, the stricter reading: slopes are steeper at shorter
    baselines).
    """

    max_deg: float
    baseline_m: float
    label: str = ""

    @property
    def key(self) -> str:
        """Name of the constraint in maps and reports, e.g. ``slope_1000m``."""
        b = self.baseline_m
        text = f"{b:g}".replace(".", "p")
        return f"slope_{text}m"

    def describe(self) -> str:
        """``"slope < 2° @ 1000 m"``."""
        where = self.label or f"{self.baseline_m:g} m"
        return f"slope < {self.max_deg:g}° @ {where}"


@dataclass(frozen=True)
class ConstraintSet:
    """Engineering constraints of a landing system.

    Attributes
    ----------
    name
        Short name (``"mer-a"``).
    latitude
        ``(south, north)`` planetocentric degrees, inclusive; None for no limit.
    max_elevation_m
        MOLA elevation limit in metres; None for no limit.
    elevation_strict
        True: the elevation must be strictly below the limit (``<``); False: ``≤``.
    slopes
        Slope limits, each at its own baseline.
    max_rock_fraction
        Rock abundance (cumulative fractional area covered by rocks) must be below this;
        needs a rock-abundance raster, otherwise it is reported as not evaluated.
    ellipse_km
        Full 3σ landing-ellipse axes ``(major, minor)`` in km.
    ellipse_azimuth_deg
        Azimuth of the ellipse's major axis, degrees clockwise from north.
    final_ellipse_km
        The ellipse finally flown, where it differs from the design one (Mars 2020 at
        Jezero with terrain-relative navigation).
    description, source
        What the set is, and the publication its numbers come from.
    """

    name: str
    latitude: tuple[float, float] | None = None
    max_elevation_m: float | None = None
    elevation_strict: bool = False
    slopes: tuple[SlopeLimit, ...] = ()
    max_rock_fraction: float | None = None
    ellipse_km: tuple[float, float] | None = None
    ellipse_azimuth_deg: float = 90.0
    final_ellipse_km: tuple[float, float] | None = None
    description: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def keys(self) -> tuple[str, ...]:
        """Names of the per-cell constraints, in report order."""
        out: list[str] = []
        if self.latitude is not None:
            out.append("latitude")
        if self.max_elevation_m is not None:
            out.append("elevation")
        out.extend(s.key for s in self.slopes)
        if self.max_rock_fraction is not None:
            out.append("rocks")
        return tuple(out)

    def limit_text(self, key: str) -> str:
        """Human-readable limit of constraint ``key`` (``"≤ -1300 m"``)."""
        if key == "latitude" and self.latitude is not None:
            s, n = self.latitude
            return f"{_lat_text(s)} to {_lat_text(n)}"
        if key == "elevation" and self.max_elevation_m is not None:
            op = "<" if self.elevation_strict else "≤"
            return f"{op} {self.max_elevation_m:g} m"
        if key == "rocks" and self.max_rock_fraction is not None:
            return f"< {100 * self.max_rock_fraction:g} % rock abundance"
        for limit in self.slopes:
            if limit.key == key:
                return limit.describe()
        raise ValidationError(
            f"constraint set {self.name!r} has no constraint {key!r}; it has {self.keys}"
        )

    def to_dict(self) -> dict[str, Any]:
        """A plain mapping that :func:`constraint_set_from_dict` reads back to an equal set."""
        out: dict[str, Any] = {"name": self.name}
        if self.latitude is not None:
            out["latitude"] = list(self.latitude)
        if self.max_elevation_m is not None:
            out["max_elevation_m"] = self.max_elevation_m
            out["elevation_strict"] = self.elevation_strict
        if self.slopes:
            out["slopes"] = [
                {
                    "max_deg": s.max_deg,
                    "baseline_m": s.baseline_m,
                    **({"label": s.label} if s.label else {}),
                }
                for s in self.slopes
            ]
        if self.max_rock_fraction is not None:
            out["max_rock_fraction"] = self.max_rock_fraction
        if self.ellipse_km is not None:
            out["ellipse_km"] = list(self.ellipse_km)
            out["ellipse_azimuth_deg"] = self.ellipse_azimuth_deg
        if self.final_ellipse_km is not None:
            out["final_ellipse_km"] = list(self.final_ellipse_km)
        if self.description:
            out["description"] = self.description
        if self.source:
            out["source"] = self.source
        return out


def _lat_text(lat: float) -> str:
    if lat == 0:
        return "0°"
    return f"{abs(lat):g}°{'N' if lat > 0 else 'S'}"


def _number(value: Any, where: str, *, lo: float = -math.inf, hi: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"{where} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or not (lo <= v <= hi):
        raise ValidationError(f"{where} = {value!r} is outside [{lo:g}, {hi:g}]")
    return v


def _validate(cs: ConstraintSet) -> None:
    if not isinstance(cs.name, str) or not cs.name.strip():
        raise ValidationError(f"a constraint set needs a non-empty name, got {cs.name!r}")
    where = f"constraint set {cs.name!r}"
    if cs.latitude is not None:
        if len(cs.latitude) != 2:
            raise ValidationError(f"{where}: latitude {cs.latitude!r} must be [south, north]")
        s = _number(cs.latitude[0], f"{where}: latitude south", lo=-90, hi=90)
        n = _number(cs.latitude[1], f"{where}: latitude north", lo=-90, hi=90)
        if s > n:
            raise ValidationError(
                f"{where}: latitude {cs.latitude!r} has south {s:g} above north {n:g}; "
                "give [south, north] (southern latitudes are negative)"
            )
    if cs.max_elevation_m is not None:
        _number(cs.max_elevation_m, f"{where}: max_elevation_m", lo=-10_000, hi=25_000)
    for i, sl in enumerate(cs.slopes):
        if not isinstance(sl, SlopeLimit):
            raise ValidationError(f"{where}: slopes[{i}] {sl!r} is not a SlopeLimit")
        _number(sl.max_deg, f"{where}: slopes[{i}].max_deg", lo=0, hi=90)
        if sl.max_deg <= 0 or sl.max_deg >= 90:
            raise ValidationError(
                f"{where}: slopes[{i}].max_deg = {sl.max_deg!r} must be in (0, 90)"
            )
        _number(sl.baseline_m, f"{where}: slopes[{i}].baseline_m", lo=0)
        if sl.baseline_m <= 0:
            raise ValidationError(
                f"{where}: slopes[{i}].baseline_m = {sl.baseline_m!r} must be > 0 m"
            )
    keys = [s.key for s in cs.slopes]
    if len(set(keys)) != len(keys):
        raise ValidationError(
            f"{where}: two slope limits share one baseline ({keys}); keep one per baseline"
        )
    if cs.max_rock_fraction is not None:
        v = _number(cs.max_rock_fraction, f"{where}: max_rock_fraction", lo=0, hi=1)
        if v <= 0:
            raise ValidationError(f"{where}: max_rock_fraction must be in (0, 1], got {v!r}")
    for label, ell in (("ellipse_km", cs.ellipse_km), ("final_ellipse_km", cs.final_ellipse_km)):
        if ell is None:
            continue
        if len(ell) != 2:
            raise ValidationError(f"{where}: {label} {ell!r} must be [major, minor] in km")
        a = _number(ell[0], f"{where}: {label} major", lo=0, hi=2000)
        b = _number(ell[1], f"{where}: {label} minor", lo=0, hi=2000)
        if b <= 0 or a < b:
            raise ValidationError(
                f"{where}: {label} {ell!r} must be [major, minor] with major ≥ minor > 0 km"
            )
    _number(cs.ellipse_azimuth_deg, f"{where}: ellipse_azimuth_deg", lo=-360, hi=360)


_KNOWN_KEYS = {
    "name", "base", "latitude", "max_elevation_m", "elevation_strict", "slopes",
    "max_rock_fraction", "ellipse_km", "ellipse_azimuth_deg", "final_ellipse_km",
    "description", "source",
}  # fmt: skip


def constraint_set_from_dict(data: Mapping[str, Any]) -> ConstraintSet:
    """Build and validate a :class:`ConstraintSet` from a mapping (see the module docs).

    Raises
    ------
    ValidationError
        Unknown keys (with the known ones), wrong types, out-of-range values, south > north.
    """
    if not isinstance(data, Mapping):
        raise ValidationError(f"a constraint set must be a mapping of keys to values, got {data!r}")
    unknown = sorted(set(data) - _KNOWN_KEYS)
    if unknown:
        raise ValidationError(
            f"unknown constraint key(s) {unknown}; known keys: {sorted(_KNOWN_KEYS)}"
        )
    if "name" not in data:
        raise ValidationError("a constraint set needs a 'name'")
    if "base" in data:
        from marsgis.planning.presets import get_preset

        base = get_preset(str(data["base"]))
    else:
        base = None
    kwargs: dict[str, Any] = {"name": str(data["name"])}
    if "latitude" in data:
        lat = data["latitude"]
        if lat is not None:
            if not isinstance(lat, (list, tuple)) or len(lat) != 2:
                raise ValidationError(f"latitude {lat!r} must be [south, north] in degrees")
            lat = (_number(lat[0], "latitude south"), _number(lat[1], "latitude north"))
        kwargs["latitude"] = lat
    if "max_elevation_m" in data:
        v = data["max_elevation_m"]
        kwargs["max_elevation_m"] = None if v is None else _number(v, "max_elevation_m")
    if "elevation_strict" in data:
        if not isinstance(data["elevation_strict"], bool):
            raise ValidationError(
                f"elevation_strict must be true or false, got {data['elevation_strict']!r}"
            )
        kwargs["elevation_strict"] = data["elevation_strict"]
    if "slopes" in data:
        raw = data["slopes"] or []
        if not isinstance(raw, (list, tuple)):
            raise ValidationError(
                f"slopes {raw!r} must be a list of {{max_deg, baseline_m}} mappings"
            )
        slopes = []
        for i, item in enumerate(raw):
            if not isinstance(item, Mapping) or not {"max_deg", "baseline_m"} <= set(item):
                raise ValidationError(
                    f"slopes[{i}] = {item!r} must be a mapping with max_deg and baseline_m"
                )
            extra = sorted(set(item) - {"max_deg", "baseline_m", "label"})
            if extra:
                raise ValidationError(f"slopes[{i}] has unknown key(s) {extra}")
            slopes.append(
                SlopeLimit(
                    max_deg=_number(item["max_deg"], f"slopes[{i}].max_deg"),
                    baseline_m=_number(item["baseline_m"], f"slopes[{i}].baseline_m"),
                    label=str(item.get("label", "")),
                )
            )
        kwargs["slopes"] = tuple(slopes)
    if "max_rock_fraction" in data:
        v = data["max_rock_fraction"]
        kwargs["max_rock_fraction"] = None if v is None else _number(v, "max_rock_fraction")
    for key in ("ellipse_km", "final_ellipse_km"):
        if key in data:
            ell = data[key]
            if ell is not None:
                if not isinstance(ell, (list, tuple)) or len(ell) != 2:
                    raise ValidationError(f"{key} {ell!r} must be [major, minor] in km")
                ell = (_number(ell[0], f"{key} major"), _number(ell[1], f"{key} minor"))
            kwargs[key] = ell
    if "ellipse_azimuth_deg" in data:
        kwargs["ellipse_azimuth_deg"] = _number(data["ellipse_azimuth_deg"], "ellipse_azimuth_deg")
    for key in ("description", "source"):
        if key in data:
            kwargs[key] = str(data[key])
    if base is not None:
        return replace(base, **kwargs)
    return ConstraintSet(**kwargs)


def load_constraints(source: str | Path | Mapping[str, Any] | ConstraintSet) -> ConstraintSet:
    """A constraint set from a preset name, a mapping, YAML text or a YAML file.

    Parameters
    ----------
    source
        A :class:`ConstraintSet` (returned as is), a preset name (``"msl"``), a mapping, a
        path to a ``.yaml``/``.yml`` file, or YAML text holding one mapping.

    Raises
    ------
    ValidationError
        Unreadable YAML, or a set that fails validation (the message names the key).
    """
    if isinstance(source, ConstraintSet):
        return source
    if isinstance(source, Mapping):
        return constraint_set_from_dict(source)
    text: str
    if isinstance(source, Path) or (
        isinstance(source, str)
        and "\n" not in source
        and source.lower().endswith((".yaml", ".yml"))
    ):
        path = Path(source).expanduser()
        if not path.exists():
            raise ValidationError(f"constraint file {str(path)!r} does not exist")
        text = path.read_text(encoding="utf-8")
    else:
        from marsgis.planning.presets import PRESETS, get_preset

        if str(source).strip().lower() in PRESETS:
            return get_preset(str(source))
        text = str(source)
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationError(f"constraints are not valid YAML: {exc}") from exc
    if not isinstance(doc, Mapping):
        from marsgis.planning.presets import PRESETS

        raise ValidationError(
            f"unknown constraint preset {source!r}; presets are {list(PRESETS)}, or give a YAML "
            "file (.yaml/.yml) or mapping of constraints"
        )
    return constraint_set_from_dict(doc)
