"""``page_missions``: pages and totals computed in SQL equal the full list sliced in Python."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from marsgis import db
from marsgis.exceptions import ValidationError

R_MARS = 3_396_190.0
TYPES = ("landing", "survey", "traverse")


def _seed(url: str, n: int = 240) -> list[db.Mission]:
    rng = np.random.default_rng(12)
    lats = rng.uniform(-30, 30, n)
    lons = rng.uniform(120, 240, n)  # across the 180° meridian (stored as −180…180)
    with db.transaction(url, write=True) as conn:
        made = [
            db.add_mission(
                f"m{i}",
                lat=float(lats[i]),
                lon=float(lons[i]),
                mission_type=TYPES[i % 3],
                status="aborted" if i % 4 == 0 else "planned",
                db=conn,
            )
            for i in range(n)
        ]
    return made


def _haversine(lat0: float, lon0: float, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    p0, l0, p, lam = np.radians(lat0), np.radians(lon0), np.radians(lat), np.radians(lon)
    h = np.sin((p - p0) / 2) ** 2 + np.cos(p) * np.cos(p0) * np.sin((lam - l0) / 2) ** 2
    return np.asarray(2 * R_MARS * np.arcsin(np.sqrt(h)))


def test_pages_equal_the_full_list_sliced(db_url: str) -> None:
    _seed(db_url)
    everything = db.list_missions(db=db_url)  # oldest first
    assert len(everything) == 240
    lat = np.array([m.lat for m in everything])
    lon = np.array([m.lon for m in everything])
    in_box = (lat >= -10) & (lat <= 20) & ((lon >= 170) | (lon <= -160))  # 170°E → 160°W
    dist = _haversine(5.0, 179.0, lat, lon)
    radius = 1_000_000.0
    for status, kind, where in itertools.product(
        (None, "planned", "aborted"), (None, "survey"), (None, "bbox", "near")
    ):
        keep = np.array(
            [
                (status is None or m.status == status) and (kind is None or m.mission_type == kind)
                for m in everything
            ]
        )
        if where == "bbox":
            keep &= in_box
        if where == "near":
            keep &= dist <= radius
            order = sorted(np.flatnonzero(keep), key=lambda i: (dist[i], everything[i].created_at))
        else:
            order = list(np.flatnonzero(keep))
        expected = [everything[i].id for i in order]
        assert len(expected) > 0
        for limit, offset in ((7, 0), (7, 7), (50, 3), (1000, 0), (5, len(expected) - 2)):
            page = db.page_missions(
                status=status,
                mission_type=kind,
                bbox=(170.0, -10.0, -160.0, 20.0) if where == "bbox" else None,
                near=(5.0, 179.0) if where == "near" else None,
                radius_m=radius if where == "near" else None,
                limit=limit,
                offset=offset,
                db=db_url,
            )
            assert page.total == len(expected), (status, kind, where)
            assert [m.id for m in page.items] == expected[offset : offset + limit]
    by_id = {m.id: m for m in everything}
    assert all(by_id[m.id] == m for m in db.page_missions(limit=240, db=db_url).items)
    assert db.page_missions(offset=500, db=db_url) == db.MissionPage([], 240)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": 0}, "limit 0"),
        ({"offset": -1}, "offset -1"),
        ({"near": (0.0, 0.0)}, "near and radius_m go together"),
        ({"near": (0.0, 0.0), "radius_m": 1.0, "bbox": (0, 0, 1, 1)}, "bbox or near"),
        ({"status": "lost"}, "lost"),
        ({"bbox": (0.0, 5.0, 1.0, 1.0)}, "south 5.0 is north of north"),
    ],
)
def test_bad_page_requests_name_the_value(db_url: str, kwargs: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        db.page_missions(db=db_url, **kwargs)
