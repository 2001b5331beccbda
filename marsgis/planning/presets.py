"""Landing-site constraint presets of past Mars landers, each with its published source.

===========  ============  ===============  ===============================================  ===========
preset       latitude      MOLA elevation   slopes (baseline) / rocks                        3σ ellipse
===========  ============  ===============  ===============================================  ===========
mer-a        5°N–15°S      ≤ −1.3 km        < 2° @1 km, < 5° @100 m, < 15° @10 m; rocks      78 × 10 km
                                            < 20 %
mer-b        10°N–10°S     ≤ −1.3 km        as MER-A                                          85 × 11 km
phoenix      65°N–72°N     < −3.5 km        —                                                 ~60 × 20 km
msl          30°S–30°N     < −1 km          < 30° @2–5 m                                      25 × 20 km
insight      3°N–5°N       ≤ −2.5 km        < 15° @84 m and @2 m; rocks < 10 %                130 × 27 km
mars2020     30°S–30°N     ≤ +0.5 km        as MSL                                            25 × 20 km
===========  ============  ===============  ===============================================  ===========

The ellipse azimuth depends on the arrival trajectory of a given launch date, so the presets
leave it at the default 90° (major axis east–west); pass the azimuth you need to the ellipse
functions. Each preset is a function whose docstring cites its source; :data:`PRESETS` maps the names
to them and :func:`get_preset` returns the :class:`~marsgis.planning.constraints.ConstraintSet`.
"""

from __future__ import annotations

from collections.abc import Callable

from marsgis.exceptions import ValidationError
from marsgis.planning.constraints import ConstraintSet, SlopeLimit

__all__ = [
    "PRESETS",
    "get_preset",
    "insight",
    "list_presets",
    "mars2020",
    "mer_a",
    "mer_b",
    "msl",
    "phoenix",
]

_MER_SLOPES = (
    SlopeLimit(2.0, 1000.0, "1 km"),
    SlopeLimit(5.0, 100.0, "100 m"),
    SlopeLimit(15.0, 10.0, "10 m"),
)
_MSL_SLOPES = (SlopeLimit(30.0, 2.0, "2–5 m"),)

_GOLOMBEK_2003 = (
    "Golombek, M. P., et al. (2003), Selection of the Mars Exploration Rover landing sites, "
    "J. Geophys. Res., 108(E12), 8072, doi:10.1029/2003JE002074"
)
_ARVIDSON_2008 = (
    "Arvidson, R. E., et al. (2008), Mars Exploration Program 2007 Phoenix landing site "
    "selection and characteristics, J. Geophys. Res., 113, E00A03, doi:10.1029/2007JE003021"
)
_GOLOMBEK_2012 = (
    "Golombek, M., et al. (2012), Selection of the Mars Science Laboratory landing site, "
    "Space Sci. Rev., 170, 641–737, doi:10.1007/s11214-012-9916-y"
)
_GOLOMBEK_2017 = (
    "Golombek, M., et al. (2017), Selection of the InSight landing site, Space Sci. Rev., "
    "211, 5–95, doi:10.1007/s11214-016-0321-9"
)
_MARS2020 = (
    "Mars 2020 landing-site documents: Grant, J. A., et al. (2018), The science process for "
    "selecting the landing site for the 2020 Mars rover, Planet. Space Sci., 164, 106–126, "
    "doi:10.1016/j.pss.2018.07.001; Farley, K. A., et al. (2020), Mars 2020 mission overview, "
    "Space Sci. Rev., 216, 142, doi:10.1007/s11214-020-00762-y (Jezero ellipse 7.7 × 6.6 km)"
)


def mer_a() -> ConstraintSet:
    """MER-A (Spirit, landed in Gusev crater) engineering constraints.

    Latitude 5°N–15°S, MOLA elevation ≤ −1.3 km, slopes < 2° at 1 km, < 5° at 100 m and
    < 15° at 10 m baselines, rock abundance < 20 %, 3σ ellipse 78 × 10 km (Gusev final).

    References
    ----------
    Golombek, M. P., et al. (2003), Selection of the Mars Exploration Rover landing sites,
    J. Geophys. Res., 108(E12), 8072, doi:10.1029/2003JE002074.
    """
    return ConstraintSet(
        name="mer-a",
        latitude=(-15.0, 5.0),
        max_elevation_m=-1300.0,
        elevation_strict=False,
        slopes=_MER_SLOPES,
        max_rock_fraction=0.20,
        ellipse_km=(78.0, 10.0),
        description="Mars Exploration Rover A (Spirit), Gusev crater",
        source=_GOLOMBEK_2003,
    )


def mer_b() -> ConstraintSet:
    """MER-B (Opportunity, landed at Meridiani Planum) engineering constraints.

    Latitude 10°N–10°S, MOLA elevation ≤ −1.3 km, slopes and rocks as MER-A, 3σ ellipse
    85 × 11 km (Meridiani final).

    References
    ----------
    Golombek, M. P., et al. (2003), Selection of the Mars Exploration Rover landing sites,
    J. Geophys. Res., 108(E12), 8072, doi:10.1029/2003JE002074.
    """
    return ConstraintSet(
        name="mer-b",
        latitude=(-10.0, 10.0),
        max_elevation_m=-1300.0,
        elevation_strict=False,
        slopes=_MER_SLOPES,
        max_rock_fraction=0.20,
        ellipse_km=(85.0, 11.0),
        description="Mars Exploration Rover B (Opportunity), Meridiani Planum",
        source=_GOLOMBEK_2003,
    )


def phoenix() -> ConstraintSet:
    """Phoenix (2008, northern plains, Green Valley) engineering constraints.

    Latitude 65°N–72°N, MOLA elevation < −3.5 km, 3σ ellipse ~60 × 20 km.

    References
    ----------
    Arvidson, R. E., et al. (2008), Mars Exploration Program 2007 Phoenix landing site
    selection and characteristics, J. Geophys. Res., 113, E00A03, doi:10.1029/2007JE003021.
    """
    return ConstraintSet(
        name="phoenix",
        latitude=(65.0, 72.0),
        max_elevation_m=-3500.0,
        elevation_strict=True,
        ellipse_km=(60.0, 20.0),
        description="Phoenix Mars Lander, northern plains",
        source=_ARVIDSON_2008,
    )


def msl() -> ConstraintSet:
    """Mars Science Laboratory (Curiosity, Gale crater) engineering constraints.

    Latitude 30°S–30°N, MOLA elevation < −1 km, slopes < 30° at 2–5 m baselines (evaluated
    at 2 m, the stricter end), 3σ ellipse 25 × 20 km.

    References
    ----------
    Golombek, M., et al. (2012), Selection of the Mars Science Laboratory landing site,
    Space Sci. Rev., 170, 641–737, doi:10.1007/s11214-012-9916-y.
    """
    return ConstraintSet(
        name="msl",
        latitude=(-30.0, 30.0),
        max_elevation_m=-1000.0,
        elevation_strict=True,
        slopes=_MSL_SLOPES,
        ellipse_km=(25.0, 20.0),
        description="Mars Science Laboratory (Curiosity), Gale crater",
        source=_GOLOMBEK_2012,
    )


def insight() -> ConstraintSet:
    """InSight (Elysium Planitia) engineering constraints.

    Latitude 3°N–5°N, MOLA elevation ≤ −2.5 km, slopes < 15° at 84 m and at 2 m baselines,
    rock abundance < 10 %, 3σ ellipse 130 × 27 km.

    References
    ----------
    Golombek, M., et al. (2017), Selection of the InSight landing site, Space Sci. Rev.,
    211, 5–95, doi:10.1007/s11214-016-0321-9.
    """
    return ConstraintSet(
        name="insight",
        latitude=(3.0, 5.0),
        max_elevation_m=-2500.0,
        elevation_strict=False,
        slopes=(SlopeLimit(15.0, 84.0, "84 m"), SlopeLimit(15.0, 2.0, "2 m")),
        max_rock_fraction=0.10,
        ellipse_km=(130.0, 27.0),
        description="InSight, western Elysium Planitia",
        source=_GOLOMBEK_2017,
    )


def mars2020() -> ConstraintSet:
    """Mars 2020 (Perseverance, Jezero crater) engineering constraints.

    Latitude 30°S–30°N, MOLA elevation ≤ +0.5 km, slopes as MSL (< 30° at 2–5 m), design 3σ
    ellipse 25 × 20 km; the ellipse flown at Jezero with terrain-relative navigation was
    7.7 × 6.6 km.

    References
    ----------
    Grant, J. A., et al. (2018), The science process for selecting the landing site for the
    2020 Mars rover, Planet. Space Sci., 164, 106–126, doi:10.1016/j.pss.2018.07.001.
    Farley, K. A., et al. (2020), Mars 2020 mission overview, Space Sci. Rev., 216, 142,
    doi:10.1007/s11214-020-00762-y.
    """
    return ConstraintSet(
        name="mars2020",
        latitude=(-30.0, 30.0),
        max_elevation_m=500.0,
        elevation_strict=False,
        slopes=_MSL_SLOPES,
        ellipse_km=(25.0, 20.0),
        final_ellipse_km=(7.7, 6.6),
        description="Mars 2020 (Perseverance), Jezero crater",
        source=_MARS2020,
    )


#: Preset name → the function that builds it.
PRESETS: dict[str, Callable[[], ConstraintSet]] = {
    "mer-a": mer_a,
    "mer-b": mer_b,
    "phoenix": phoenix,
    "msl": msl,
    "insight": insight,
    "mars2020": mars2020,
}


def list_presets() -> list[str]:
    """Names of the shipped presets."""
    return list(PRESETS)


def get_preset(name: str) -> ConstraintSet:
    """The constraint set of preset ``name`` (case-insensitive; ``mer_a`` and ``mer-a`` both work).

    Raises
    ------
    ValidationError
        Unknown name; the message lists the presets.
    """
    key = str(name).strip().lower().replace("_", "-")
    aliases = {"mars-2020": "mars2020", "m2020": "mars2020", "curiosity": "msl", "spirit": "mer-a",
               "opportunity": "mer-b", "perseverance": "mars2020"}  # fmt: skip
    key = aliases.get(key, key)
    if key not in PRESETS:
        raise ValidationError(
            f"unknown constraint preset {name!r}; presets are {list(PRESETS)} "
            "(or define your own with marsgis.planning.load_constraints)"
        )
    return PRESETS[key]()
