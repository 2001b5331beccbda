"""Mission risk: Mars season from the date, dust-storm season, solar power, terrain; combined.

Season
------
:func:`mars_time` computes the areocentric solar longitude ``Ls`` (and the Mars year, Mars
sol date, heliocentric distance and solar declination) for a UTC date with the algorithm of
Allison & McEwen (2000), the one NASA GISS's Mars24 uses. Mars years are numbered as in
Clancy et al. (2000): Mars year 1 began at Ls = 0 on 1955 April 11.

Resources
---------
:func:`solar_resource` gives the daily-mean insolation at the top of the atmosphere,
``Q = S/π · (h₀ sin φ sin δ + cos φ cos δ sin h₀)`` with ``S = 1361 W/m² / r²`` and the
sunset hour angle ``cos h₀ = −tan φ tan δ``, the hours of daylight in a sol, and a surface
estimate attenuated by a dust optical depth τ (``exp(−τ)``, an assumption: 0.5 outside and
1.0 inside the dust-storm season unless ``tau`` is given). A sol lasts 88 775.244 s.

Risk
----
:func:`assess_risk` scores three components from 0 (benign) to 1 (worst):

* ``terrain``: for a traverse, ``0.5 · max_slope/limit + 0.5 · mean_slope/limit``; for a
  landing ellipse, ``fail_any + (1 − fail_any) · min(1, slope_p95 / 15°)`` halved and
  clipped to [0, 1] (15° is the slope above which the landing presets start to fail).
* ``season``: ``0.7 · dust + 0.3 · night`` with ``dust`` = 1 in the dust-storm season
  (Ls 180°–360°, perihelion) and 0 otherwise, and ``night`` the fraction of the sol without
  sun (polar night = 1).
* ``resources``: ``1 − Q_surface / Q_ref`` with ``Q_ref`` the daily-mean top-of-atmosphere
  insolation at the equator at perihelion (the best Mars offers).

A component whose input is missing is **not evaluated**, like a landing constraint the DEM
cannot resolve: the terrain component without a traverse or an ellipse evaluation. It is left
out of ``components``, listed with the reason in ``not_evaluated``, and gets weight 0: the
combined score is the weighted mean of the evaluated components only (their weights
renormalised), never a made-up 0 ("low") for what was not looked at.

The combined score is the weighted mean with :data:`DEFAULT_RISK_WEIGHTS` (terrain 0.5,
season 0.25, resources 0.25) unless other weights are given, and ``level`` is ``low``
(< 1/3), ``medium`` (< 2/3) or ``high``. These weights and the formulas above are a
documented heuristic for comparing plans, not a validated probability of failure.

References
----------
Allison, M., McEwen, M. (2000), A post-Pathfinder evaluation of areocentric solar coordinates
with improved timing recipes for Mars seasonal/diurnal climate studies, Planet. Space Sci., 48,
215–235, doi:10.1016/S0032-0633(99)00092-6.
Clancy, R. T., et al. (2000), An intercomparison of ground-based millimeter, MGS TES, and
Viking atmospheric temperature measurements, J. Geophys. Res., 105(E4), 9553–9571.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import geopandas as gpd

from marsgis.crs import validate_latlon
from marsgis.dates import to_utc
from marsgis.exceptions import ValidationError
from marsgis.geo import lon180

__all__ = [
    "DEFAULT_RISK_WEIGHTS",
    "SOL_SECONDS",
    "MarsTime",
    "RiskAssessment",
    "SolarResource",
    "assess_risk",
    "dust_storm_season",
    "mars_time",
    "solar_longitude",
    "solar_resource",
]

#: Length of a mean solar day on Mars (a sol), seconds.
SOL_SECONDS = 88_775.244
#: Solar constant at 1 AU, W/m² (Kopp & Lean 2011).
SOLAR_CONSTANT = 1361.0
#: Default weights of the risk components.
DEFAULT_RISK_WEIGHTS: dict[str, float] = {"terrain": 0.5, "season": 0.25, "resources": 0.25}

# TAI − UTC (s) from each date on (IERS Bulletin C); TT − UTC = TAI − UTC + 32.184 s.
_LEAP_SECONDS = (
    (date(1972, 1, 1), 10), (date(1972, 7, 1), 11), (date(1973, 1, 1), 12),
    (date(1974, 1, 1), 13), (date(1975, 1, 1), 14), (date(1976, 1, 1), 15),
    (date(1977, 1, 1), 16), (date(1978, 1, 1), 17), (date(1979, 1, 1), 18),
    (date(1980, 1, 1), 19), (date(1981, 7, 1), 20), (date(1982, 7, 1), 21),
    (date(1983, 7, 1), 22), (date(1985, 7, 1), 23), (date(1988, 1, 1), 24),
    (date(1990, 1, 1), 25), (date(1991, 1, 1), 26), (date(1992, 7, 1), 27),
    (date(1993, 7, 1), 28), (date(1994, 7, 1), 29), (date(1996, 1, 1), 30),
    (date(1997, 7, 1), 31), (date(1999, 1, 1), 32), (date(2006, 1, 1), 33),
    (date(2009, 1, 1), 34), (date(2012, 7, 1), 35), (date(2015, 7, 1), 36),
    (date(2017, 1, 1), 37),
)  # fmt: skip

# Allison & McEwen (2000) table 5: perturbations of the equation of centre.
_PBS = (
    (0.0071, 2.2353, 49.409),
    (0.0057, 2.7543, 168.173),
    (0.0039, 1.1177, 191.837),
    (0.0037, 15.7866, 21.736),
    (0.0021, 2.1354, 15.704),
    (0.0020, 2.4694, 95.528),
    (0.0018, 32.8493, 49.095),
)
# JD (TT) of 1955 April 11 00:00, the start of Mars year 1 (Clancy et al. 2000).
_MY1_JD_TT = 2435208.5
_MARS_YEAR_DAYS = 686.9711


@dataclass(frozen=True)
class MarsTime:
    """Mars seasonal coordinates of an instant (Allison & McEwen 2000).

    Attributes
    ----------
    utc
        The instant, timezone-aware UTC.
    ls
        Areocentric solar longitude, degrees in [0, 360).
    mars_year
        Mars year (Clancy et al. 2000 numbering).
    msd
        Mars sol date.
    mtc_hours
        Coordinated Mars time (mean solar time at the prime meridian), hours.
    heliocentric_au
        Sun–Mars distance, AU.
    declination_deg
        Planetographic solar declination, degrees.
    """

    utc: datetime
    ls: float
    mars_year: int
    msd: float
    mtc_hours: float
    heliocentric_au: float
    declination_deg: float


def _tt_minus_utc(d: date) -> float:
    tai = 10.0
    for start, seconds in _LEAP_SECONDS:
        if d >= start:
            tai = float(seconds)
    return tai + 32.184


def mars_time(when: datetime | date | str) -> MarsTime:
    """Solar longitude, Mars year and time of an instant (naive datetimes are taken as UTC).

    Examples
    --------
    >>> round(mars_time("2012-08-06T05:17:57Z").ls, 1)   # Curiosity landing
    150.7
    """
    utc = to_utc(when)
    jd_ut = 2440587.5 + utc.timestamp() / 86400.0
    jd_tt = jd_ut + _tt_minus_utc(utc.date()) / 86400.0
    dt = jd_tt - 2451545.0
    m = 19.3871 + 0.52402073 * dt  # B-1 mean anomaly
    alpha_fms = 270.3871 + 0.524038496 * dt  # B-2 fictitious mean sun
    pbs = sum(a * math.cos(math.radians(0.985626 * dt / tau + phi)) for a, tau, phi in _PBS)  # B-3
    mr = math.radians(m)
    eoc = (
        (10.691 + 3.0e-7 * dt) * math.sin(mr)
        + 0.623 * math.sin(2 * mr)
        + 0.050 * math.sin(3 * mr)
        + 0.005 * math.sin(4 * mr)
        + 0.0005 * math.sin(5 * mr)
        + pbs
    )  # B-4 equation of centre
    ls = (alpha_fms + eoc) % 360.0  # B-5
    lsr = math.radians(ls)
    r = 1.52367934 * (
        1.00436 - 0.09309 * math.cos(mr) - 0.004336 * math.cos(2 * mr)
        - 0.00031 * math.cos(3 * mr) - 0.00003 * math.cos(4 * mr)
    )  # C-? heliocentric distance  # fmt: skip
    decl = math.degrees(math.asin(0.42565 * math.sin(lsr))) + 0.25 * math.sin(lsr)  # D-1
    msd = (jd_tt - 2451549.5) / 1.0274912517 + 44796.0 - 0.0009626  # C-2
    mtc = (24.0 * msd) % 24.0  # C-3
    years = (jd_tt - _MY1_JD_TT) / _MARS_YEAR_DAYS
    mars_year = 1 + round(years - ls / 360.0)
    return MarsTime(utc, ls, int(mars_year), msd, mtc, r, decl)


def solar_longitude(when: datetime | date | str) -> float:
    """Areocentric solar longitude Ls (degrees) of an instant; see :func:`mars_time`."""
    return mars_time(when).ls


def dust_storm_season(ls: float) -> bool:
    """True in the dust-storm season, Ls 180°–360° (southern spring and summer, perihelion)."""
    return 180.0 <= (float(ls) % 360.0) < 360.0


@dataclass(frozen=True)
class SolarResource:
    """Sunlight available at a latitude and season.

    ``toa_w_m2``: daily-mean insolation at the top of the atmosphere; ``surface_w_m2``:
    after dust extinction ``exp(−tau)``; ``daylight_h``: hours (Earth) of sun in a sol;
    ``sol_h``: length of the sol in hours.
    """

    lat: float
    ls: float
    heliocentric_au: float
    declination_deg: float
    toa_w_m2: float
    tau: float
    surface_w_m2: float
    daylight_h: float
    sol_h: float = SOL_SECONDS / 3600.0


def _heliocentric_au(ls: float) -> float:
    """Sun–Mars distance from Ls with the Keplerian orbit (a, e, Ls of perihelion)."""
    a, e, ls_p = 1.52367934, 0.0934, 251.0
    nu = math.radians(ls - ls_p)
    return a * (1 - e * e) / (1 + e * math.cos(nu))


def solar_resource(
    lat: float,
    ls: float | None = None,
    *,
    when: datetime | date | str | None = None,
    tau: float | None = None,
) -> SolarResource:
    """Daily-mean sunlight at latitude ``lat`` for season ``ls`` (or the date ``when``).

    Parameters
    ----------
    lat
        Planetocentric latitude, degrees.
    ls
        Solar longitude, degrees; or give ``when`` to compute it (and the exact distance).
    tau
        Dust optical depth; default 0.5 outside and 1.0 inside the dust-storm season.
    """
    la, _ = validate_latlon(lat, 0.0)
    if (ls is None) == (when is None):
        raise ValidationError("give exactly one of ls= (degrees) or when= (a date)")
    if when is not None:
        t = mars_time(when)
        ls_v, r, decl = t.ls, t.heliocentric_au, t.declination_deg
    else:
        ls_v = float(ls) % 360.0  # type: ignore[arg-type]
        if not math.isfinite(ls_v):
            raise ValidationError(f"ls {ls!r} must be a finite number of degrees")
        r = _heliocentric_au(ls_v)
        lsr = math.radians(ls_v)
        decl = math.degrees(math.asin(0.42565 * math.sin(lsr))) + 0.25 * math.sin(lsr)
    if tau is None:
        tau = 1.0 if dust_storm_season(ls_v) else 0.5
    if not (math.isfinite(tau) and tau >= 0):
        raise ValidationError(f"tau {tau!r} must be a finite optical depth ≥ 0")
    phi = math.radians(float(la))
    d = math.radians(decl)
    x = -math.tan(phi) * math.tan(d)
    h0 = math.pi if x <= -1.0 else 0.0 if x >= 1.0 else math.acos(x)
    s = SOLAR_CONSTANT / (r * r)
    q = (
        s
        / math.pi
        * (h0 * math.sin(phi) * math.sin(d) + math.cos(phi) * math.cos(d) * math.sin(h0))
    )
    q = max(q, 0.0)
    sol_h = SOL_SECONDS / 3600.0
    return SolarResource(
        lat=float(la),
        ls=ls_v,
        heliocentric_au=r,
        declination_deg=decl,
        toa_w_m2=q,
        tau=float(tau),
        surface_w_m2=q * math.exp(-tau),
        daylight_h=sol_h * h0 / math.pi,
    )


#: Daily-mean top-of-atmosphere insolation at the equator at perihelion (the best case), W/m².
_Q_REF = solar_resource(0.0, 251.0, tau=0.0).toa_w_m2


@dataclass(frozen=True)
class RiskAssessment:
    """A combined mission risk (see the module docs for each formula).

    ``score`` and every ``components`` value lie in [0, 1] (0 benign); ``components`` holds the
    evaluated components only, ``not_evaluated`` the others with the reason (missing input).
    ``weights`` are the weights the score used: those given, 0 for a component not
    evaluated (``details["weights_given"]`` then keeps the ones given). ``details`` holds the
    inputs (Ls, Mars year, insolation, slopes...). :meth:`to_dict` is what is stored on a
    mission (``risk_assessment``).
    """

    score: float
    level: str
    components: dict[str, float]
    weights: dict[str, float]
    details: dict[str, Any] = field(default_factory=dict)
    not_evaluated: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping."""
        return {
            "score": self.score,
            "level": self.level,
            "components": dict(self.components),
            "weights": dict(self.weights),
            "details": dict(self.details),
            "not_evaluated": dict(self.not_evaluated),
            "method": "marsgis.planning.risk v1 (documented heuristic)",
        }


def _clip01(v: float) -> float:
    return 0.0 if not math.isfinite(v) else min(1.0, max(0.0, v))


def assess_risk(
    *,
    lat: float,
    lon: float,
    when: datetime | date | str,
    traverse: gpd.GeoDataFrame | None = None,
    ellipse: Any = None,
    slope_limit_deg: float | None = None,
    tau: float | None = None,
    weights: Mapping[str, float] | None = None,
) -> RiskAssessment:
    """Combine terrain, season/weather and resource risk for a site and date.

    Parameters
    ----------
    lat, lon
        The site (planetocentric degrees).
    when
        Date (and time) of the operation: landing or drive.
    traverse
        A plan from :func:`~marsgis.planning.plan_traverse` (its slopes make the terrain term).
    ellipse
        An :class:`~marsgis.planning.EllipseEvaluation` (its failures and slopes make the
        terrain term). Give a traverse, an ellipse or neither: the terrain component is then
        not evaluated (in ``not_evaluated``, weight 0, the score is the weighted mean of
        season and resources).
    slope_limit_deg
        Slope limit of the traverse terrain term (default: the plan's limit).
    tau
        Dust optical depth for the solar term (default by season, see module docs).
    weights
        Component weights (``terrain``, ``season``, ``resources``); default
        :data:`DEFAULT_RISK_WEIGHTS`.

    Raises
    ------
    ValidationError
        Unknown or negative weights, or weights that put all the weight on components that
        are not evaluated (``weights={"terrain": 1}`` with no traverse or ellipse).

    Examples
    --------
    >>> risk = assess_risk(lat=-4.59, lon=137.44, when="2012-08-06")  # no terrain input
    >>> risk.not_evaluated
    {'terrain': 'no traverse or ellipse evaluation given'}
    >>> sorted(risk.components), risk.weights["terrain"]
    (['resources', 'season'], 0.0)
    """
    la, lo = validate_latlon(lat, lon)
    w = dict(DEFAULT_RISK_WEIGHTS if weights is None else weights)
    unknown = sorted(set(w) - set(DEFAULT_RISK_WEIGHTS))
    if unknown:
        raise ValidationError(
            f"unknown risk weight(s) {unknown}; use {sorted(DEFAULT_RISK_WEIGHTS)}"
        )
    if any(not (math.isfinite(float(v)) and v >= 0) for v in w.values()) or sum(w.values()) <= 0:
        raise ValidationError(f"risk weights {w!r} must be ≥ 0 and not all 0")
    w = {k: float(w.get(k, 0.0)) for k in DEFAULT_RISK_WEIGHTS}
    t = mars_time(when)
    sun = solar_resource(float(la), when=t.utc, tau=tau)
    details: dict[str, Any] = {
        "date_utc": t.utc.isoformat(),
        "ls_deg": t.ls,
        "mars_year": t.mars_year,
        "msd": t.msd,
        "dust_storm_season": dust_storm_season(t.ls),
        "heliocentric_au": t.heliocentric_au,
        "solar_declination_deg": t.declination_deg,
        "daylight_h": sun.daylight_h,
        "sol_h": sun.sol_h,
        "insolation_toa_w_m2": sun.toa_w_m2,
        "insolation_surface_w_m2": sun.surface_w_m2,
        "tau": sun.tau,
        "lat": float(la),
        "lon": lon180(float(lo)),
    }
    if traverse is not None and ellipse is not None:
        raise ValidationError("give a traverse or an ellipse evaluation, not both")
    terrain: float | None
    if traverse is not None:
        limit = float(slope_limit_deg or traverse.attrs.get("max_slope_limit_deg", 25.0))
        smax = float(traverse["max_slope_deg"].max())
        lengths = traverse["length_m"].to_numpy(dtype=float)
        smean = float(
            (traverse["mean_slope_deg"].to_numpy(dtype=float) * lengths).sum()
            / max(lengths.sum(), 1e-9)
        )
        terrain = _clip01(0.5 * smax / limit + 0.5 * smean / limit)
        details.update(
            terrain_source="traverse",
            max_slope_deg=smax,
            mean_slope_deg=smean,
            slope_limit_deg=limit,
        )
    elif ellipse is not None:
        fail = float(ellipse.fail_any)
        p95 = float(ellipse.stats.get("slope_p95_deg", 0.0))
        terrain = _clip01(0.5 * (fail + (1.0 - fail) * min(1.0, p95 / 15.0)))
        details.update(
            terrain_source="ellipse",
            fail_any=fail,
            slope_p95_deg=p95,
            not_evaluated=sorted(ellipse.not_evaluated),
        )
    else:
        terrain = None
        details.update(terrain_source="none (no traverse or ellipse given)")
    dust = 1.0 if dust_storm_season(t.ls) else 0.0
    night = 1.0 - sun.daylight_h / sun.sol_h
    season = _clip01(0.7 * dust + 0.3 * night)
    resources = _clip01(1.0 - sun.surface_w_m2 / _Q_REF)
    not_evaluated: dict[str, str] = {}
    comps: dict[str, float] = {}
    if terrain is None:
        not_evaluated["terrain"] = "no traverse or ellipse evaluation given"
    else:
        comps["terrain"] = terrain
    comps.update(season=season, resources=resources)
    if not_evaluated:
        details["weights_given"] = dict(w)
        w = {k: (0.0 if k in not_evaluated else v) for k, v in w.items()}
    total = sum(w.values())
    if total <= 0:
        missing = "; ".join(f"{k}: {why}" for k, why in not_evaluated.items())
        raise ValidationError(
            f"risk weights {details['weights_given']!r} put all the weight on components that "
            f"are not evaluated ({missing}); give their input (a traverse or an ellipse "
            "evaluation) or weight season and resources too"
        )
    score = sum(comps[k] * w[k] for k in comps) / total
    level = "low" if score < 1 / 3 else "medium" if score < 2 / 3 else "high"
    return RiskAssessment(
        score=score,
        level=level,
        components=comps,
        weights=w,
        details=details,
        not_evaluated=not_evaluated,
    )
