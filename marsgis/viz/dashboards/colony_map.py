"""The colonies on the Mars map, coloured by occupancy (population / capacity).

>>> from marsgis.viz.dashboards import ColonyMap
>>> colonies = ColonyMap()       # the configured database (MARSGIS_DATABASE_URL)
>>> colonies.widget              # doctest: +SKIP

Each colony (:func:`marsgis.db.station.list_colonies`) is drawn as its boundary polygon at its
gazetteer site, with a marker that keeps it visible at a global zoom, both coloured by
occupancy (:data:`marsgis.viz.maps.OCCUPANCY_BANDS`, explained by the map's legend,
:func:`marsgis.viz.maps.add_colonies`). The table lists population, capacity and occupancy;
choosing a colony (in the list or on the map) zooms to its boundary
(:func:`marsgis.viz.controls.fit_to`) and lists its stations and bays.

The map is live: it follows the ``station`` topic of the event log, so admissions and capacity
changes recorded elsewhere recolour it within about a second.
"""

from __future__ import annotations

import html
import logging
from typing import TYPE_CHECKING, Any

from marsgis.viz.dashboards._ui import StatusLine, follow, header, table_html, viewer

if TYPE_CHECKING:
    from marsgis.db import Engine
    from marsgis.station import Colony

__all__ = ["MAP_SIZE", "ColonyMap"]

#: The map's expected size in pixels (width, height): the full width of a laptop screen.
MAP_SIZE = (1200, 520)

log = logging.getLogger("marsgis.viz.dashboards.colony_map")


class ColonyMap:
    """The colonies dashboard (``dashboards/station-colonies.ipynb``).

    Parameters
    ----------
    db
        Database URL or engine; default the configured one.
    person
        Who looks (the header); default :func:`~._ui.operator_name`.
    """

    def __init__(self, db: str | Engine | None = None, *, person: str | None = None) -> None:
        import ipywidgets as w

        from marsgis.db import describe_store
        from marsgis.viz.maps import mars_map, occupancy_legend

        self.db = db
        self.who = viewer(db, person)
        self.status = StatusLine()
        self.colonies: list[Colony] = []
        self.selected: Colony | None = None
        self.map = mars_map(center=(20.0, 0.0), zoom=1, height=f"{MAP_SIZE[1]}px")
        self.map.min_zoom = 1  # the whole planet fills the map at zoom 1
        self.map.add(occupancy_legend())
        self.list = w.Select(options=[], rows=6, description="Colonies")
        self.list.layout.width = "96%"
        self.list.add_class("marsgis-colony-list")
        self.whole = w.Button(description="All colonies", icon="")
        self.whole.add_class("marsgis-all-colonies")
        self.table = w.HTML("")
        self.table.add_class("marsgis-colonies")
        self.details = w.HTML("")
        self.details.add_class("marsgis-colony")

        self.list.observe(self._on_list, names="value")
        self.whole.on_click(lambda _: self.fit_all())

        left = w.VBox([self.list, self.whole], layout=w.Layout(width="34%"))
        right = w.VBox([self.table, self.details], layout=w.Layout(width="66%"))
        self.widget = w.VBox(
            [
                header(
                    "Colonies",
                    f"Occupancy on the Mars map · records: {describe_store(db)}",
                    who=self.who,
                ),
                self.status.html,
                self.map,
                w.HBox([left, right]),
            ]
        )
        self.widget.add_class("marsgis-dashboard")
        self.status.container = self.widget
        self.refresh()
        self.fit_all()
        #: The live feed of the event log (station) that keeps the map current.
        self.live = follow("station", self._on_events, db, widget=self.widget)

    def close(self) -> None:
        """Stop following the event log and close the widgets."""
        self.live.stop()
        self.widget.close()

    def refresh(self) -> list[Colony]:
        """Reload the colonies into the map, the list and the table."""

        def load() -> list[Colony]:
            from marsgis.db.station import list_colonies

            return list_colonies(db=self.db)

        colonies = self.status.run(
            "Loading colonies", load, done=lambda cs: f"{len(cs)} colon(ies) shown"
        )
        if colonies is None:
            return self.colonies
        self._show(colonies)
        return colonies

    def fit_all(self) -> int | None:
        """Zoom the map to every colony (None: no colony to show)."""
        from shapely import wkt

        from marsgis.viz.controls import fit_to

        boundaries = [wkt.loads(c.boundary_wkt) for c in self.colonies]
        return fit_to(self.map, boundaries, pad_deg=12.0, size=MAP_SIZE) if boundaries else None

    def select(self, colony_id: int) -> Colony | None:
        """Zoom to a colony's boundary and list its stations and bays."""

        def load() -> tuple[Colony, list[Any], list[Any]]:
            from marsgis.db.station import get_colony, list_bays, list_stations

            colony = get_colony(colony_id, db=self.db)
            stations = [s for s in list_stations(db=self.db) if s.colony_id == colony.id]
            bays = [b for s in stations for b in list_bays(s.id, db=self.db)]
            return colony, stations, bays

        loaded = self.status.run("Opening colony", load, done=lambda r: r[0].name)
        if loaded is None:
            return None
        from shapely import wkt

        from marsgis.viz.controls import fit_to

        colony, stations, bays = loaded
        self.selected = colony
        if self.list.value != colony.id:
            self.list.unobserve(self._on_list, names="value")
            self.list.value = colony.id
            self.list.observe(self._on_list, names="value")
        fit_to(self.map, [wkt.loads(colony.boundary_wkt)], pad_deg=0.5, size=MAP_SIZE)
        share = colony.population / colony.capacity if colony.capacity else 0.0
        self.details.value = f"<h3>{html.escape(colony.name)}</h3>" + table_html(
            [
                ("site", colony.site),
                ("population", colony.population),
                ("capacity", colony.capacity),
                ("occupancy", f"{100 * share:.0f} %"),
                ("room left", colony.capacity - colony.population),
                ("stations", ", ".join(s.name for s in stations) or "none"),
                ("docking bays", ", ".join(b.code for b in bays) or "none"),
            ]
        )
        return colony

    def _on_list(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self.select(change["new"])

    def _on_events(self, events: list[Any]) -> None:
        """Admissions, capacity changes, new colonies elsewhere: reload and recolour."""
        from marsgis.db.station import list_colonies
        from marsgis.exceptions import MarsGISError

        try:
            colonies = list_colonies(db=self.db)
        except MarsGISError:
            log.warning("live update: could not reload the colonies", exc_info=True)
            return
        if colonies != self.colonies:
            self._show(colonies)

    def _show(self, colonies: list[Colony]) -> None:
        from marsgis.viz.maps import add_colonies, occupancy_color

        self.colonies = colonies
        add_colonies(self.map, colonies, on_click=lambda c: self.select(c.id))
        keep = self.list.value
        self.list.unobserve(self._on_list, names="value")
        self.list.options = [(c.name, c.id) for c in colonies]
        self.list.value = keep if keep in [c.id for c in colonies] else None
        self.list.observe(self._on_list, names="value")
        if not colonies:
            self.table.value = (
                "<div class='marsgis-empty'><b>No colonies stored yet.</b> Build the demo "
                "station with <code>marsgis station seed</code>, or add one with "
                "<code>marsgis.db.station.add_colony(...)</code>.</div>"
            )
            return
        rows = []
        for c in colonies:
            share = c.population / c.capacity if c.capacity else 0.0
            color = occupancy_color(c.population, c.capacity)
            rows.append(
                f"<tr data-colony-id='{c.id}' data-population='{c.population}' "
                f"data-capacity='{c.capacity}'><td><span class='marsgis-badge' "
                f"style='background:{color}'>&nbsp;</span> {html.escape(c.name)}</td>"
                f"<td>{html.escape(c.site)}</td><td>{c.population}</td><td>{c.capacity}</td>"
                f"<td>{100 * share:.0f} %</td></tr>"
            )
        self.table.value = (
            "<table class='marsgis-table'><tr><th>colony</th><th>site</th><th>population</th>"
            "<th>capacity</th><th>occupancy</th></tr>" + "".join(rows) + "</table>"
        )
