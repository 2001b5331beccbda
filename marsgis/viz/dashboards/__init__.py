"""The operator dashboards behind ``dashboards/*.ipynb`` (Voila), as plain classes.

Each dashboard is built from public marsgis calls and has a ``widget`` to display, plus
methods that do what its controls do (used by the tests and benchmarks, and handy in a
notebook):

* :class:`MissionBoard`: ``refresh()``, ``select(id)``, ``change_status(status, note)``.
* :class:`LandingExplorer`: ``set_preset(name)``, ``update_overlay()``, ``evaluate_at(lat, lon)``.
* :class:`TraversePlanner`: ``plan(start, goal)``, ``save_to_mission(id)``,
  ``save_as_new_mission(name)``.
* :class:`OfficerQueue` (the station's visa applications): ``refresh()``, ``open(id)``,
  ``decide(status, reason)``.
* :class:`BayTimeline` (docking bays): ``refresh()``, ``shift(direction)``,
  ``book(bay_id, starts_at, ends_at, voyage_id)``.
* :class:`ColonyMap` (colonies and their occupancy): ``refresh()``, ``select(id)``,
  ``fit_all()``.

Every interaction shows a busy state while it runs and a readable message when it fails
(:class:`~marsgis.viz.dashboards._ui.StatusLine`).
"""

from marsgis.viz.dashboards.bay_timeline import BayTimeline
from marsgis.viz.dashboards.colony_map import ColonyMap
from marsgis.viz.dashboards.landing_explorer import LandingExplorer
from marsgis.viz.dashboards.mission_board import MissionBoard
from marsgis.viz.dashboards.officer_queue import OfficerQueue
from marsgis.viz.dashboards.traverse_planner import TraversePlanner

__all__ = (
    "BayTimeline",
    "ColonyMap",
    "LandingExplorer",
    "MissionBoard",
    "OfficerQueue",
    "TraversePlanner",
)
