"""Traverse planner: click a start and a goal in Gale, get a route, its profile, stats and risk.

>>> from marsgis.viz.dashboards import TraversePlanner
>>> planner = TraversePlanner()
>>> route = planner.plan((-4.5895, 137.4417), (-4.82, 137.39))  # doctest: +SKIP

Routes are least-cost traverses on the shipped MOLA 128 px/deg Gale DEM (``gale-mola``) with
:func:`marsgis.planning.plan_traverse`; the risk is :func:`marsgis.planning.assess_risk` for
the chosen date. A route can be stored on an existing mission
(:func:`marsgis.db.save_traverse`) or as a new traverse mission
(:meth:`marsgis.planning.MissionPlan.save`).

Saving acts only on the result on screen: a failed re-plan clears the old route, profile and
risk, and changing the slope limit or the date after planning disables saving until re-planned.
Only missions that can take the route (planned or active ground missions whose target lies on
the DEM, :func:`marsgis.planning.route_target_problem`) are offered, and roles that may not
store plans (operators, viewers: :func:`marsgis.db.roles.current_access`) see why saving is off.
"""

from __future__ import annotations

import datetime as dt
import html
from typing import TYPE_CHECKING, Any

from marsgis.viz.dashboards._ui import StatusLine, header, table_html, viewer

if TYPE_CHECKING:
    from marsgis.db import Engine

__all__ = ["ROUTE_COLOR", "TraversePlanner"]

#: Colour of the planned route on the map.
ROUTE_COLOR = "#e53e3e"
DEM_NAME = "gale-mola"


class TraversePlanner:
    """The traverse-planner dashboard (``dashboards/traverse-planner.ipynb``).

    Parameters
    ----------
    db
        Database for saving routes; default the configured one.
    """

    def __init__(self, db: str | Engine | None = None) -> None:
        import ipyleaflet
        import ipywidgets as w

        from marsgis import open_dem
        from marsgis.viz.maps import mars_map

        self.db = db
        self.who = viewer(db)
        self.dem = open_dem(DEM_NAME)
        self.status = StatusLine()
        west, south, east, north = (float(v) for v in self.dem.rio.bounds())
        self.max_slope = w.FloatSlider(
            min=5, max=45, step=1, value=25, description="Max slope (°)", continuous_update=False
        )
        self.max_slope.style.description_width = "100px"
        self.date = w.DatePicker(value=dt.datetime.now(dt.UTC).date(), description="Drive date")
        self.replan = w.Button(description="Re-plan", icon="")
        self.reset = w.Button(description="Reset", icon="")
        self.mission = w.Dropdown(options=[], description="Mission")
        self.save = w.Button(description="Save to mission", button_style="primary", icon="")
        self.new_name = w.Text(placeholder="new mission name", description="or new")
        self.save_new = w.Button(description="Save as new mission", icon="")
        self.save_new.layout.width = "170px"
        self.save_note = w.HTML("")
        self.save_note.add_class("marsgis-save-note")
        self.stats = w.HTML("<i>Click a start point, then a goal, inside the dashed box.</i>")
        self.risk = w.HTML("")
        self.profile_image = w.Image(
            format="png", layout=w.Layout(display="none", width="560px", height="200px")
        )
        centre = ((south + north) / 2.0, (west + east) / 2.0)
        self.map = mars_map(center=centre, zoom=6, height="480px")
        self.map.add(
            ipyleaflet.Rectangle(
                bounds=[[south, west - 360.0 * (west > 180)], [north, east - 360.0 * (east > 180)]],
                color="#2d3748",
                weight=1,
                fill=False,
                dash_array="4 4",
                name=f"{DEM_NAME} extent",
            )
        )
        self.start: tuple[float, float] | None = None
        self.goal: tuple[float, float] | None = None
        self.route: Any = None
        self.risk_assessment: Any = None
        #: The slope limit and date the route on screen was planned with.
        self.planned_with: tuple[float, Any] | None = None

        self.map.on_interaction(self._on_interaction)
        self.replan.on_click(lambda _: self._replan())
        self.reset.on_click(lambda _: self.clear())
        self.save.on_click(lambda _: self.save_to_mission(self.mission.value))
        self.save_new.on_click(lambda _: self.save_as_new_mission(self.new_name.value))
        self.max_slope.observe(lambda _: self._sync_save(), names="value")
        self.date.observe(lambda _: self._sync_save(), names="value")

        controls = w.HBox([self.max_slope, self.date, self.replan, self.reset])
        saving = w.VBox(
            [w.HBox([self.mission, self.save, self.new_name, self.save_new]), self.save_note]
        )
        results = w.HBox([w.VBox([self.stats, self.risk]), self.profile_image])
        self.widget = w.VBox(
            [
                header(
                    "Traverse planner",
                    f"Least-cost rover routes on {DEM_NAME} (MOLA 128 px/deg around Gale).",
                    who=self.who,
                ),
                controls,
                self.status.html,
                self.map,
                results,
                saving,
            ]
        )
        self.widget.add_class("marsgis-dashboard")
        self.status.container = self.widget
        self.refresh_missions()
        self._sync_save()

    # -------------------------------------------------------------------------- clicks

    def _on_interaction(self, **event: Any) -> None:
        measure = getattr(self.map, "marsgis_measure", None)
        if event.get("type") != "click" or (measure is not None and measure.active):
            return
        lat, lon = (float(v) for v in event["coordinates"])
        if self.start is None or self.goal is not None:
            self.clear()
            self.start = (lat, lon)
            self._marker("start", lat, lon, "#38a169")
            self.status.ok("Start set; click the goal")
        else:
            self.goal = (lat, lon)
            self._marker("goal", lat, lon, "#e53e3e")
            self.plan(self.start, self.goal)

    def _marker(self, name: str, lat: float, lon: float, color: str) -> None:
        import ipyleaflet

        from marsgis.viz.maps import replace_layer

        replace_layer(
            self.map,
            ipyleaflet.CircleMarker(
                location=[lat, lon], radius=7, color="#ffffff", weight=2, fill_color=color,
                fill_opacity=1.0, name=name,
            ),
        )  # fmt: skip

    def clear(self) -> None:
        """Forget the start, goal and route."""
        self.start = self.goal = None
        self._drop_result()
        for layer in [lay for lay in self.map.layers if lay.name in ("start", "goal")]:
            self.map.remove(layer)
        self.stats.value = "<i>Click a start point, then a goal, inside the dashed box.</i>"

    def _drop_result(self) -> None:
        """Forget the planned route, its risk and profile (nothing left to save)."""
        self.route = self.risk_assessment = self.planned_with = None
        for layer in [lay for lay in self.map.layers if lay.name == "route"]:
            self.map.remove(layer)
        self.risk.value = ""
        self.profile_image.layout.display = "none"
        self._sync_save()

    def save_blocker(self) -> str | None:
        """Why the route on screen cannot be saved now (None: it can)."""
        if not self.who.edit_missions:
            return self.who.refusal("Saving a route", "scientist")
        if self.route is None or self.planned_with is None:
            return "Nothing to save: plan a route first (click a start and a goal)"
        if self.planned_with != self._params():
            return "The slope limit or date changed since this route was planned: re-plan to save"
        return None

    def _params(self) -> tuple[float, Any]:
        return float(self.max_slope.value), self.date.value

    def _sync_save(self) -> None:
        """Enable the save buttons only for a current, valid route (and a role that may)."""
        blocker = self.save_blocker()
        self.save.disabled = self.save_new.disabled = blocker is not None
        if blocker is None and not self.mission.options:
            self.save.disabled = True
        self.save_note.value = (
            f"<span class='marsgis-readonly' data-blocked='1'>{html.escape(blocker)}</span>"
            if blocker
            else ""
        )

    def _replan(self) -> None:
        if self.start is None or self.goal is None:
            self.status.error("click a start point and a goal on the map first")
            return
        self.plan(self.start, self.goal)

    # -------------------------------------------------------------------------- actions

    def plan(self, start: tuple[float, float], goal: tuple[float, float]) -> Any:
        """Plan the route from ``start`` to ``goal`` (``(lat, lon)``) and show it."""
        from marsgis.planning import assess_risk, plan_traverse
        from marsgis.viz.controls import fit_to
        from marsgis.viz.maps import replace_layer, traverse_layer
        from marsgis.viz.profile import profile_png, route_profile

        self.start, self.goal = start, goal
        params = self._params()

        def work() -> tuple[Any, Any, bytes]:
            route = plan_traverse(
                self.dem, start, goal, max_slope=float(self.max_slope.value), name="traverse"
            )
            when = self.date.value or dt.datetime.now(dt.UTC).date()
            risk = assess_risk(lat=start[0], lon=start[1], when=when, traverse=route)
            png = profile_png(route_profile(route, dem=self.dem), title="Route elevation profile")
            return route, risk, png

        out = self.status.run(
            "Planning route",
            work,
            done=lambda r: f"Route planned: {r[0].attrs['length_m'] / 1000:.2f} km",
            disable=[self.replan, self.save, self.save_new],
        )
        if out is None:  # the old route is no longer what the controls say: drop it
            self._drop_result()
            self.stats.value = (
                f"<span class='marsgis-error' data-failed='1'>"
                f"{html.escape(self.status.message)}</span>"
            )
            return None
        route, risk, png = out
        self.route, self.risk_assessment, self.planned_with = route, risk, params
        replace_layer(self.map, traverse_layer(route, color=ROUTE_COLOR, name="route"))
        fit_to(self.map, [c for g in route.geometry for c in g.coords])  # the whole route in view
        a = route.attrs
        leg = route.iloc[0]
        rows = [
            ("length", f"{a['length_m'] / 1000:,.2f} km (great circle {a['great_circle_m'] / 1000:,.2f} km)"),
            ("climb / descent", f"{leg['elevation_gain_m']:,.0f} m / {leg['elevation_loss_m']:,.0f} m"),
            ("max / mean slope", f"{a['max_slope_deg']:.1f}° / {leg['mean_slope_deg']:.1f}°"),
            ("drive time", f"{a['drive_time_h']:,.1f} h at {a['speed_m_per_h']:g} m/h"),
            ("energy", f"{a['energy_wh'] / 1000:,.1f} kWh"),
            ("method", f"{a['method']} on {DEM_NAME}"),
        ]  # fmt: skip
        self.stats.value = (
            f"<div class='marsgis-route' data-length='{a['length_m']!r}' "
            f"data-start='{start[0]!r},{start[1]!r}' data-goal='{goal[0]!r},{goal[1]!r}' "
            f"data-max-slope='{float(self.max_slope.value)!r}'><b>Route</b>"
            f"{table_html(rows)}</div>"
        )
        comps = table_html(
            [(k, f"{v:.2f}") for k, v in risk.components.items()], ("component", "risk")
        )
        self.risk.value = (
            f"<b>Risk</b>: <span data-level='{risk.level}'>{risk.level}</span> "
            f"(score {risk.score:.2f}, Ls {risk.details['ls_deg']:.0f}°){comps}"
        )
        self.profile_image.value = png
        self.profile_image.layout.display = ""
        self._sync_save()
        return route

    def refresh_missions(self) -> list[Any]:
        """Reload the mission choices for saving."""
        from marsgis.db import list_missions

        missions = self.status.run("Loading missions", lambda: list_missions(db=self.db))
        if missions is None:
            return []
        # only missions that can take this route: open ground missions with a target on it
        open_missions = [m for m in missions if self.target_problem(m) is None]
        self.mission.options = [(f"{m.name} ({m.status})", m.id) for m in open_missions]
        if open_missions and self.mission.value is None:
            self.mission.value = open_missions[-1].id  # the newest
        self._sync_save()
        self.status.ok("Click a start point, then a goal, inside the dashed box")
        return missions

    def target_problem(self, mission: Any) -> str | None:
        """Why ``mission`` cannot take a route on this planner's DEM (None: it can)."""
        from marsgis.planning import route_target_problem

        return route_target_problem(mission, self.dem.rio.bounds())

    def save_to_mission(self, mission_id: str | None) -> Any:
        """Store the current route as a traverse artefact of a mission."""
        from marsgis.db import get_mission, save_traverse
        from marsgis.exceptions import ValidationError

        def work() -> Any:
            blocker = self.save_blocker()
            if blocker is not None:
                raise ValidationError(blocker)
            if not mission_id:
                raise ValidationError(
                    "choose a mission to save to, or give a name and save as a new mission"
                )
            problem = self.target_problem(get_mission(mission_id, db=self.db))
            if problem is not None:
                raise ValidationError(problem)
            return save_traverse(mission_id, self.route, db=self.db)

        return self.status.run(
            "Saving route",
            work,
            done=lambda a: f"Saved as traverse #{a.id} of mission {a.mission_id}",
            disable=[self.save, self.save_new],
        )

    def save_as_new_mission(self, name: str) -> Any:
        """Store the current route, its risk and one task per leg as a new traverse mission."""
        from marsgis.db import save_plan
        from marsgis.exceptions import ValidationError
        from marsgis.planning import MissionPlan

        def work() -> Any:
            blocker = self.save_blocker()
            if blocker is not None or self.start is None:
                raise ValidationError(blocker or "plan a route first: click a start and a goal")
            if not name.strip():
                raise ValidationError("give the new mission a name")
            plan = MissionPlan(
                name=name.strip(),
                lat=self.start[0],
                lon=self.start[1],
                mission_type="traverse",
                description="Planned in the traverse planner",
                traverse=self.route,
                risk=self.risk_assessment,
                tasks=tuple(f"Drive leg {i + 1}" for i in range(len(self.route))),
            )
            return save_plan(plan, db=self.db)

        stored = self.status.run(
            "Saving new mission",
            work,
            done=lambda p: f"Saved as new mission {p.mission.name!r} ({p.mission.id})",
            disable=[self.save, self.save_new],
        )
        if stored is not None:
            message = self.status.message
            self.refresh_missions()
            self.mission.value = stored.mission.id
            self.status.ok(message)
        return stored
