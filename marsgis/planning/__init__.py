"""Mission planning: landing-site constraints and ellipses, rover traverses, risk, missions.

>>> import marsgis
>>> from marsgis import planning
>>> dem = marsgis.open_dem("gale-mola")
>>> planning.check_site(-4.5895, 137.4417, "msl", dem).verdict  # doctest: +SKIP
>>> route = planning.plan_traverse(dem, (-4.5895, 137.4417), (-4.82, 137.39))  # doctest: +SKIP

Every longitude returned is −180–180 °E (inputs take 0–360 or −180–180); geometry on the
Mars sphere (great circles, ellipse polygons, grids) is :mod:`marsgis.geo`. See
``docs/planning.md`` for the methods and their checks and ``docs/conventions.md`` for the
conventions.
"""

from marsgis.planning.constraints import (
    ConstraintSet,
    SlopeLimit,
    constraint_set_from_dict,
    load_constraints,
)
from marsgis.planning.cost import cost_surface
from marsgis.planning.eligibility import (
    ConstraintCheck,
    SiteCheck,
    check_site,
    eligibility_map,
    eligible_area,
)
from marsgis.planning.ellipses import EllipseEvaluation, LandingEllipse, evaluate_ellipse
from marsgis.planning.lcp import LeastCostPath, cost_distance, least_cost_path
from marsgis.planning.missions import (
    OPEN_STATUSES,
    ROUTE_MISSION_TYPES,
    MissionPlan,
    PlanArtefact,
    ellipse_artefact,
    plan_mission,
    route_target_problem,
    traverse_artefact,
    traverse_from_artefact,
)
from marsgis.planning.presets import PRESETS, get_preset, list_presets
from marsgis.planning.risk import (
    RiskAssessment,
    SolarResource,
    assess_risk,
    dust_storm_season,
    mars_time,
    solar_longitude,
    solar_resource,
)
from marsgis.planning.sites import search_landing_sites
from marsgis.planning.targets import make_targets
from marsgis.planning.traverse import RoverModel, plan_traverse

__all__ = (
    "OPEN_STATUSES",
    "PRESETS",
    "ROUTE_MISSION_TYPES",
    "ConstraintCheck",
    "ConstraintSet",
    "EllipseEvaluation",
    "LandingEllipse",
    "LeastCostPath",
    "MissionPlan",
    "RiskAssessment",
    "RoverModel",
    "SiteCheck",
    "SlopeLimit",
    "SolarResource",
    "PlanArtefact",
    "assess_risk",
    "check_site",
    "constraint_set_from_dict",
    "cost_distance",
    "cost_surface",
    "dust_storm_season",
    "eligibility_map",
    "eligible_area",
    "evaluate_ellipse",
    "get_preset",
    "least_cost_path",
    "list_presets",
    "load_constraints",
    "make_targets",
    "mars_time",
    "plan_mission",
    "route_target_problem",
    "ellipse_artefact",
    "traverse_artefact",
    "traverse_from_artefact",
    "plan_traverse",
    "search_landing_sites",
    "solar_longitude",
    "solar_resource",
)
