"""Spatial queries on SpatiaLite and PostGIS: boxes across the 180° and 0° meridians, and
great-circle radius searches checked against pyproj.Geod on the Mars sphere."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa
from geoalchemy2 import WKTElement
from pyproj import Geod

from marsgis import db
from marsgis.crs import MARS_RADIUS_M
from marsgis.db.schema import mars_data_cache
from marsgis.exceptions import DatabaseError, ValidationError

MARS = Geod(a=MARS_RADIUS_M, b=MARS_RADIUS_M)

# name -> (lat, lon); longitudes given in both conventions on purpose
PLACES = {
    "east_of_seam": (10.0, 179.5),
    "west_of_seam": (10.0, 180.5),  # = -179.5
    "on_seam": (-20.0, -180.0),
    "prime": (0.0, 0.0),
    "just_west_of_prime": (5.0, 359.0),  # = -1
    "gale": (-4.5895, 137.4417),
    "jezero": (18.4447, 77.4508),
    "north_pole_area": (89.0, 45.0),
}


@pytest.fixture
def places(db_url: str) -> dict[str, db.Mission]:
    return {
        name: db.add_mission(name, lat=lat, lon=lon, db=db_url)
        for name, (lat, lon) in PLACES.items()
    }


BOXES = [
    ((179.0, 0.0, -179.0, 20.0), {"east_of_seam", "west_of_seam"}),
    ((179.0, 0.0, 181.0, 20.0), {"east_of_seam", "west_of_seam"}),
    ((170.0, -30.0, 180.0, 30.0), {"east_of_seam", "on_seam"}),
    ((180.0, -30.0, 190.0, 30.0), {"west_of_seam", "on_seam"}),
    ((179.9, -90.0, -179.9, 90.0), {"on_seam"}),
    ((350.0, -10.0, 10.0, 10.0), {"prime", "just_west_of_prime"}),
    ((-10.0, -10.0, 10.0, 10.0), {"prime", "just_west_of_prime"}),
    ((0.0, -10.0, 10.0, 10.0), {"prime"}),
    # 350° wide: from 10 °E eastwards all the way round to 0 °E
    (
        (10.0, -10.0, 0.0, 10.0),
        {"east_of_seam", "west_of_seam", "prime", "just_west_of_prime", "gale"},
    ),
    ((130.0, -10.0, 140.0, 0.0), {"gale"}),
    ((137.4417, -4.5895, 137.4417, -4.5895), {"gale"}),  # edges are included
    ((-180.0, -90.0, 180.0, 90.0), set(PLACES)),
    ((0.0, -90.0, 360.0, 90.0), set(PLACES)),
    ((0.0, 80.0, 360.0, 90.0), {"north_pole_area"}),
    ((20.0, 30.0, 40.0, 40.0), set()),
]


def test_missions_within_box(db_url: str, places: dict[str, db.Mission]) -> None:
    for box, expected in BOXES:
        found = db.missions_within_box(*box, db=db_url)
        assert {m.name for m in found} == expected, f"box (west, south, east, north) = {box}"
        assert [m.created_at for m in found] == sorted(m.created_at for m in found)


def test_box_arguments_are_validated(spatialite_url: str) -> None:
    with pytest.raises(ValidationError, match="south 10 is north of north -10"):
        db.missions_within_box(0, 10, 20, -10, db=spatialite_url)
    with pytest.raises(ValidationError, match="latitude 95.0"):
        db.missions_within_box(0, 0, 20, 95, db=spatialite_url)
    with pytest.raises(ValidationError, match="must be a number"):
        db.missions_within_box("0", 0, 20, 10, db=spatialite_url)  # type: ignore[arg-type]


def _random_points(
    rng: np.random.Generator, lat: float, lon: float, spread: float, n: int
) -> list[tuple[float, float]]:
    lats = np.clip(lat + rng.uniform(-spread, spread, n), -89.999, 89.999)
    lons = (lon + rng.uniform(-spread, spread, n) + 180.0) % 360.0 - 180.0
    return [(float(a), float(o)) for a, o in zip(lats, lons, strict=True)]


@pytest.mark.parametrize(
    ("center", "radius_m", "spread"),
    [
        ((30.0, 179.0), 300_000.0, 12.0),  # circle across the 180° meridian
        ((-4.5895, 137.4417), 150_000.0, 6.0),  # Gale
        ((87.5, 10.0), 400_000.0, 10.0),  # the north pole lies inside the circle
        ((-60.0, -0.5), 600_000.0, 25.0),  # across the prime meridian, high latitude
    ],
)
def test_missions_within_distance_matches_pyproj_geod(
    db_url: str, center: tuple[float, float], radius_m: float, spread: float
) -> None:
    rng = np.random.default_rng(49900)
    points = _random_points(rng, *center, spread, 30)
    stored = [
        db.add_mission(f"p{i}", lat=lat, lon=lon, db=db_url) for i, (lat, lon) in enumerate(points)
    ]
    lat0, lon0 = center
    _, _, dist = MARS.inv(
        np.full(len(stored), lon0),
        np.full(len(stored), lat0),
        [m.lon for m in stored],
        [m.lat for m in stored],
    )
    expected = {m.id: float(d) for m, d in zip(stored, dist, strict=True) if d <= radius_m}
    assert 3 <= len(expected) < len(stored)  # the test set has points inside and outside

    found = db.missions_within_distance(lat0, lon0, radius_m, db=db_url)
    assert {f.mission.id for f in found} == set(expected)
    for item in found:
        assert item.distance_m == pytest.approx(expected[item.mission.id], rel=1e-9, abs=1e-3)
    distances = [f.distance_m for f in found]
    assert distances == sorted(distances)


def test_distance_search_in_0_360_longitudes_and_edge_cases(db_url: str) -> None:
    gale = db.add_mission("gale", lat=-4.5895, lon=137.4417, db=db_url)
    jezero = db.add_mission("jezero", lat=18.4447, lon=77.4508, db=db_url)
    west = db.add_mission("west", lat=0.0, lon=222.5, db=db_url)
    # the query point given as 0–360 and as −180–180 finds the same
    a = db.missions_within_distance(0.1, 222.4, 20_000, db=db_url)
    b = db.missions_within_distance(0.1, -137.6, 20_000, db=db_url)
    assert [m.mission.id for m in a] == [m.mission.id for m in b] == [west.id]
    assert a[0].distance_m == b[0].distance_m
    assert db.missions_within_distance(-4.6, 137.4, 10_000, db=db_url)[0].mission.id == gale.id
    # radius 0 at the exact target finds it, at distance 0
    (exact,) = db.missions_within_distance(gale.lat, gale.lon, 0.0, db=db_url)
    assert (exact.mission.id, exact.distance_m) == (gale.id, 0.0)
    # half the circumference covers the whole planet; sorted by distance
    everything = db.missions_within_distance(-4.6, 137.4, np.pi * MARS_RADIUS_M, db=db_url)
    assert [m.mission.id for m in everything] == [gale.id, jezero.id, west.id]
    _, _, d = MARS.inv(137.4, -4.6, jezero.lon, jezero.lat)
    assert everything[1].distance_m == pytest.approx(d, rel=1e-9)
    with pytest.raises(ValidationError, match="radius_m -1"):
        db.missions_within_distance(0, 0, -1, db=db_url)


def test_cache_table_round_trip(db_url: str) -> None:
    """mars_data_cache as described in schema.py stores and loads on both backends."""
    from datetime import UTC, datetime, timedelta

    now = datetime(2030, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    polygon = "POLYGON((137 -5,138 -5,138 -4,137 -4,137 -5))"
    row = {
        "href": "https://example.invalid/gale/dtm.tif",
        "data_type": "dtm",
        "bounds": WKTElement(polygon, srid=db.MARS_SRID),
        "sha256": "0" * 64,
        "metadata": {"gsd_m": 1.0, "instrument": "HiRISE"},
        "path": "/cache/gale/dtm.tif",
        "cached_at": now,
        "expires_at": now + timedelta(days=30),
    }
    with db.transaction(db_url, write=True) as conn:
        conn.execute(mars_data_cache.insert().values(**row))
    with db.transaction(db_url) as conn:
        loaded = (
            conn.execute(
                sa.select(
                    mars_data_cache.c.metadata,
                    mars_data_cache.c.cached_at,
                    mars_data_cache.c.expires_at,
                    sa.func.ST_SRID(mars_data_cache.c.bounds).label("srid"),
                    sa.func.ST_AsText(mars_data_cache.c.bounds).label("wkt"),
                )
            )
            .mappings()
            .one()
        )
    assert loaded["metadata"] == {"gsd_m": 1.0, "instrument": "HiRISE"}
    assert loaded["cached_at"] == now
    assert loaded["expires_at"] == now + timedelta(days=30)
    assert loaded["srid"] == db.MARS_SRID
    from shapely import wkt

    assert wkt.loads(loaded["wkt"]).equals(wkt.loads(polygon))
    # href is unique: a second insert fails as a whole
    with pytest.raises(DatabaseError, match="refused"), db.transaction(db_url, write=True) as conn:
        conn.execute(mars_data_cache.insert().values(**{**row, "path": "/elsewhere"}))
    with db.transaction(db_url) as conn:
        paths = conn.execute(sa.select(mars_data_cache.c.path)).scalars().all()
    assert paths == ["/cache/gale/dtm.tif"]


def test_describe_store_names_the_place_not_the_role(spatialite_url: str, postgis_url: str) -> None:
    """What a dashboard header shows: the kind of store and where, never a role or password."""
    path = spatialite_url.removeprefix("sqlite:///")
    assert db.describe_store(spatialite_url) == f"SpatiaLite file {path}"
    url = sa.engine.make_url(postgis_url).set(username="marsgis_viewer", password="s3cret")
    text = db.describe_store(url.render_as_string(hide_password=False))
    assert text == f"PostGIS database {url.database!r} on {url.host}:{url.port or 5432}"
    assert "s3cret" not in text and "viewer" not in text and "psycopg" not in text
