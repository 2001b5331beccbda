"""Landing-site explorer: a preset's constraints on the global map, and ellipses where you click.

>>> from marsgis.viz.dashboards import LandingExplorer
>>> explorer = LandingExplorer()
>>> explorer.evaluate_at(-4.6, 137.4).safety  # doctest: +SKIP

Pick a landing-system preset (:func:`marsgis.planning.list_presets`), adjust its latitude band
and elevation ceiling with the sliders, and the overlay shows where MOLA (4 px/deg) passes
(:func:`marsgis.planning.eligibility_map`). A click evaluates the preset's 3σ landing
ellipse centred there (:func:`marsgis.planning.evaluate_ellipse`) on the finest shipped DEM
that holds the whole ellipse (the Gale 128 px/deg window inside it, MOLA elsewhere).
"Save to mission" stores the evaluated ellipse in a planned or active mission's plan
(:func:`marsgis.db.save_ellipse`), for roles that may edit missions.
"""

from __future__ import annotations

import dataclasses
import html
from typing import Any

from marsgis.viz.dashboards._ui import StatusLine, header, table_html, viewer

__all__ = ["LandingExplorer", "ellipse_dem"]


def ellipse_dem(ellipse: Any) -> Any:
    """The finest shipped DEM that holds the whole ellipse (:func:`marsgis.catalog.finest_dem`)."""
    from marsgis import open_dem
    from marsgis.catalog import finest_dem
    from marsgis.viz.sources import default_stack

    name = finest_dem(ellipse.polygon().bounds)
    stack = default_stack()
    return stack.source(name).dem if name in stack.names else open_dem(name)


class LandingExplorer:
    """The landing-site explorer dashboard (``dashboards/landing-site-explorer.ipynb``).

    Parameters
    ----------
    preset
        Initial preset name.
    """

    def __init__(self, preset: str = "msl", db: Any = None) -> None:
        import ipywidgets as w

        from marsgis import open_dem
        from marsgis.planning import get_preset, list_presets
        from marsgis.viz.controls import typed_slider
        from marsgis.viz.maps import mars_map

        self.db = db
        self.who = viewer(db)
        self.mola = open_dem("mola")
        self.status = StatusLine()
        self.preset = w.Dropdown(options=list_presets(), value=preset, description="Preset")
        self.preset.add_class("marsgis-preset")
        self.latitude = w.FloatRangeSlider(
            min=-90, max=90, step=0.5, value=(-90, 90), description="Latitude", readout_format=".1f"
        )
        self.elevation = w.FloatSlider(
            min=-8000, max=21000, step=50, value=21000, description="Max elev. (m)",
            readout=False,
        )  # fmt: skip
        for s in (self.latitude, self.elevation):
            s.continuous_update = False
            s.layout.width = "520px"
            s.style.description_width = "100px"
        self.elevation_box = typed_slider(self.elevation)
        self.mission = w.Dropdown(options=[], description="Mission")
        self.save = w.Button(description="Save to mission", button_style="primary", icon="")
        self.save_note = w.HTML("")
        self.save_note.add_class("marsgis-save-note")
        self.summary = w.HTML("")
        self.result = w.HTML("<i>Click the map to evaluate a landing ellipse there.</i>")
        self.map = mars_map(center=(0.0, 0.0), zoom=1, height="480px")
        self.constraints: Any = get_preset(preset)
        self.emap: Any = None
        self.evaluation: Any = None
        self._quiet = False

        self.preset.observe(lambda ch: self.set_preset(ch["new"]), names="value")
        self.latitude.observe(lambda _: self.update_overlay(), names="value")
        self.elevation.observe(lambda _: self.update_overlay(), names="value")
        self.map.on_interaction(self._on_interaction)
        self.save.on_click(lambda _: self.save_to_mission(self.mission.value))

        controls = w.VBox([self.preset, self.latitude, self.elevation_box, self.summary])
        self.widget = w.VBox(
            [
                header(
                    "Landing-site explorer",
                    "Dimmed: where MOLA (4 px/deg) fails the evaluated constraints. Click the "
                    "map to evaluate the preset's landing ellipse there.",
                    who=self.who,
                ),
                controls,
                self.status.html,
                self.map,
                self.result,
                w.VBox([w.HBox([self.mission, self.save]), self.save_note]),
            ]
        )
        self.widget.add_class("marsgis-dashboard")
        self.status.container = self.widget
        self.set_preset(preset)
        self.refresh_missions()

    def set_preset(self, name: str) -> Any:
        """Load a preset and put its limits on the sliders (then redraw the overlay)."""
        from marsgis.planning import get_preset

        cs = self.status.run("Loading preset", lambda: get_preset(name))
        if cs is None:
            return None
        self._quiet = True  # one redraw below, not one per slider
        try:
            self.latitude.value = cs.latitude or (-90.0, 90.0)
            self.elevation.value = (
                cs.max_elevation_m if cs.max_elevation_m is not None else self.elevation.max
            )
        finally:
            self._quiet = False
        self.constraints = cs
        return self.update_overlay()

    def current_constraints(self) -> Any:
        """The preset with the sliders' latitude band and elevation ceiling."""
        from marsgis.planning import get_preset

        base = get_preset(self.preset.value)
        south, north = (float(v) for v in self.latitude.value)
        top = float(self.elevation.value)
        return dataclasses.replace(
            base,
            latitude=(south, north),
            max_elevation_m=None if top >= self.elevation.max else top,
        )

    def update_overlay(self) -> Any:
        """Recompute the eligibility map of the current constraints and redraw the overlay."""
        if self._quiet:
            return None
        from marsgis.planning import eligibility_map, eligible_area
        from marsgis.viz.maps import mask_overlay, replace_layer

        def work() -> tuple[Any, Any, dict[str, Any]]:
            cs = self.current_constraints()
            emap = eligibility_map(self.mola, cs)
            return cs, emap, eligible_area(emap)

        out = self.status.run(
            "Computing eligibility",
            work,
            done=lambda r: f"{r[0].name}: {100 * r[2]['eligible_fraction']:.1f} % of Mars eligible",
            disable=[self.preset, self.latitude, self.elevation],
        )
        if out is None:
            return None
        self._drop_evaluation()  # the ellipse on screen was judged by other constraints
        cs, emap, area = out
        self.constraints, self.emap = cs, emap
        replace_layer(self.map, mask_overlay(emap["eligible"], name="eligible"))
        rows = [(k, cs.limit_text(k)) for k in emap.attrs["evaluated"]]
        rows += [(k, "not evaluated on MOLA") for k in emap.attrs["not_evaluated"]]
        self.summary.value = (
            f"<div data-fraction='{area['eligible_fraction']!r}'>"
            f"{html.escape(cs.description)}{table_html(rows, ('constraint', 'limit'))}"
            f"Eligible: <b>{area['eligible_km2'] / 1e6:,.2f} M km²</b> "
            f"({100 * area['eligible_fraction']:.1f} % of the map)</div>"
        )
        return emap

    def _on_interaction(self, **event: Any) -> None:
        measure = getattr(self.map, "marsgis_measure", None)
        if event.get("type") == "click" and not (measure is not None and measure.active):
            lat, lon = event["coordinates"]
            self.evaluate_at(float(lat), float(lon))

    def evaluate_at(self, lat: float, lon: float) -> Any:
        """Evaluate the current preset's landing ellipse centred at ``(lat, lon)``."""
        import ipyleaflet

        from marsgis.crs import normalize_lon
        from marsgis.planning import LandingEllipse, evaluate_ellipse
        from marsgis.viz.maps import ellipse_layer, replace_layer

        def work() -> tuple[Any, Any]:
            cs = self.current_constraints()
            ellipse = LandingEllipse.from_constraints(cs, lat, lon)
            dem = ellipse_dem(ellipse)
            return evaluate_ellipse(ellipse, dem, cs), dem

        out = self.status.run(
            "Evaluating ellipse", work, done=lambda r: f"Ellipse evaluated on {r[1].name}"
        )
        if out is None:
            self._drop_evaluation()
            self.result.value = (
                f"<span class='marsgis-error'>{html.escape(self.status.message)}</span>"
            )
            return None
        ev, dem = out
        self.evaluation = ev
        self._sync_save()
        color = "#38a169" if ev.fail_any < 0.05 else "#d69e2e" if ev.fail_any < 0.25 else "#e53e3e"
        replace_layer(self.map, ellipse_layer(ev.ellipse, color=color, name="evaluated ellipse"))
        replace_layer(  # the ellipse is a few pixels at low zoom: mark its centre too
            self.map,
            ipyleaflet.CircleMarker(
                location=[ev.ellipse.lat, float(normalize_lon(ev.ellipse.lon, center=0.0))], radius=5, color=color, weight=2,
                fill_color=color, fill_opacity=0.8, name="evaluated ellipse centre",
            ),
        )  # fmt: skip
        e = ev.ellipse
        rows = [
            ("centre", f"{e.lat:.4f}°, {e.lon:.4f}°E"),
            ("size (3σ)", f"{2 * e.semi_major_km:g} × {2 * e.semi_minor_km:g} km, azimuth {e.azimuth_deg:g}°"),
            ("DEM", f"{dem.name} ({ev.n_cells} cells)"),
            ("safety", f"{100 * ev.safety:.1f} % passes every evaluated constraint"),
            *[(f"fails {k}", f"{100 * v:.1f} %") for k, v in ev.fail_fraction.items()],
            ("elevation (mean)", f"{ev.stats['elevation_mean_m']:,.0f} m"),
            ("relief", f"{ev.stats['relief_m']:,.0f} m"),
            ("slope mean / p95 / max", "{:.1f}° / {:.1f}° / {:.1f}°".format(
                ev.stats["slope_mean_deg"], ev.stats["slope_p95_deg"], ev.stats["slope_max_deg"])),
            *[(k, why) for k, why in ev.not_evaluated.items()],
        ]  # fmt: skip
        self.result.value = (
            f"<div class='marsgis-ellipse' data-safety='{ev.safety!r}'><b>Landing ellipse "
            f"({html.escape(ev.constraints)})</b>{table_html(rows)}</div>"
        )
        return ev

    # -------------------------------------------------------------------------- saving

    def _drop_evaluation(self) -> None:
        """Forget the evaluated ellipse (nothing left to save) and take it off the map."""
        if self.evaluation is None:
            return
        self.evaluation = None
        for layer in [lay for lay in self.map.layers if lay.name.startswith("evaluated ellipse")]:
            self.map.remove(layer)
        self.result.value = "<i>Click the map to evaluate a landing ellipse there.</i>"
        self._sync_save()

    def save_blocker(self) -> str | None:
        """Why the ellipse on screen cannot be saved now (None: it can)."""
        if not self.who.edit_missions:
            return self.who.refusal("Saving an ellipse", "scientist")
        if self.evaluation is None:
            return "Nothing to save: click the map to evaluate an ellipse first"
        if not self.mission.options:
            return "No planned or active mission to save to"
        return None

    def _sync_save(self) -> None:
        """Enable the save button only for a current evaluation (and a role that may)."""
        blocker = self.save_blocker()
        self.save.disabled = blocker is not None
        self.save_note.value = (
            f"<span class='marsgis-readonly' data-blocked='1'>{html.escape(blocker)}</span>"
            if blocker
            else ""
        )

    def refresh_missions(self) -> list[Any]:
        """Reload the missions an ellipse can be saved to (planned or active ones)."""
        from marsgis.db import list_missions
        from marsgis.planning import OPEN_STATUSES

        missions = self.status.run("Loading missions", lambda: list_missions(db=self.db))
        if missions is None:
            return []
        targets = [m for m in missions if m.status in OPEN_STATUSES]
        self.mission.options = [(f"{m.name} ({m.status})", m.id) for m in targets]
        if targets and self.mission.value is None:
            self.mission.value = targets[-1].id  # the newest
        self._sync_save()
        return targets

    def save_to_mission(self, mission_id: str | None) -> Any:
        """Store the evaluated ellipse in a mission's plan (:func:`marsgis.db.save_ellipse`)."""
        from marsgis.db import get_mission, save_ellipse
        from marsgis.exceptions import ValidationError
        from marsgis.planning import OPEN_STATUSES

        def work() -> Any:
            blocker = self.save_blocker()
            if blocker is not None:
                raise ValidationError(blocker)
            if not mission_id:
                raise ValidationError("choose a mission to save the ellipse to")
            target = get_mission(mission_id, db=self.db)
            if target.status not in OPEN_STATUSES:
                raise ValidationError(
                    f"mission {target.name!r} is {target.status}: an ellipse can only be added "
                    "to a planned or active mission; choose another"
                )
            return save_ellipse(
                mission_id,
                self.evaluation,
                name=f"landing ellipse ({self.evaluation.constraints})",
                expected_version=target.version,
                db=self.db,
            )

        return self.status.run(
            "Saving ellipse",
            work,
            done=lambda a: f"Saved as ellipse #{a.id} of mission {a.mission_id}",
            disable=[self.save],
        )
