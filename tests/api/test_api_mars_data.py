"""The ``/mars-data`` routes on the real app, checked against rasterio, GDAL, pyproj and numpy."""

from __future__ import annotations

import io
import itertools
import subprocess

import numpy as np
import pytest
import rasterio
import rasterio.features
from api_service import ROLES, Service
from pyproj import CRS, Geod, Transformer
from shapely.geometry import box, mapping

import marsgis
from marsgis.data import DATA_DIR, RASTERS, VECTORS

DATA = "/api/v1/mars-data"
R_MARS = 3_396_190.0
GALE_1M = DATA_DIR / RASTERS["gale-1m"].path


def _bilinear(path: object, lon: float, lat: float) -> float:
    """Bilinear value of a GeoTIFF at lon/lat (°), from rasterio's transform and numpy."""
    with rasterio.open(path) as src:
        z = src.read(1).astype(np.float64)
        tr = Transformer.from_crs(CRS.from_user_input("IAU_2015:49900"), src.crs, always_xy=True)
        x, y = tr.transform(lon, lat)
        col, row = ~src.transform * (x, y)
    fx, fy = col - 0.5, row - 0.5
    c0, r0 = int(np.floor(fx)), int(np.floor(fy))
    wx, wy = fx - c0, fy - r0
    top = z[r0, c0] * (1 - wx) + z[r0, c0 + 1] * wx
    bottom = z[r0 + 1, c0] * (1 - wx) + z[r0 + 1, c0 + 1] * wx
    return float(top * (1 - wy) + bottom * wy)


def _lonlat_of_cell(path: object, row: int, col: int) -> tuple[float, float]:
    with rasterio.open(path) as src:
        x, y = src.transform * (col + 0.5, row + 0.5)
        tr = Transformer.from_crs(src.crs, CRS.from_user_input("IAU_2015:49900"), always_xy=True)
        lon, lat = tr.transform(x, y)
    return float(lon), float(lat)


def test_datasets_lists_the_shipped_data_for_every_role(service: Service) -> None:
    for role in ROLES:
        r = service.call("GET", f"{DATA}/datasets", role=role)
        assert r.status_code == 200, (role, r.text)
    body = r.json()
    assert body["total"] == len(RASTERS) + len(VECTORS)
    assert (body["limit"], body["offset"]) == (100, 0)
    by_name = {d["name"]: d for d in body["items"]}
    assert set(by_name) == set(RASTERS) | set(VECTORS)
    assert {by_name[n]["kind"] for n in RASTERS} == {"dem"}
    assert {by_name[n]["kind"] for n in VECTORS} == {"vector"}
    assert by_name["mola"]["bounds"] == [-180.0, -90.0, 180.0, 90.0]
    assert by_name["mola"]["crs"] == "IAU_2015:49900"
    dem = marsgis.open_dem("gale-mola")
    assert by_name["gale-mola"]["bounds"] == pytest.approx(list(dem.rio.bounds()))
    # 1/128 degree on the Mars sphere, in metres
    assert by_name["gale-mola"]["resolution_m"] == pytest.approx(np.pi * R_MARS / 180 / 128)
    assert by_name["gale-1m"]["resolution_m"] == pytest.approx(1.0)
    page = service.call("GET", f"{DATA}/datasets?limit=2&offset=1", role="viewer").json()
    assert [d["name"] for d in page["items"]] == [d["name"] for d in body["items"][1:3]]


def test_elevation_at_points_equals_rasterio_bilinear_and_gdallocationinfo(
    service: Service,
) -> None:
    centre = _lonlat_of_cell(GALE_1M, 100, 200)
    off = (centre[0] + 3e-6, centre[1] - 2e-6)  # between cell centres
    r = service.call(
        "GET",
        f"{DATA}/terrain/gale-1m/elevation",
        params=[("lat", centre[1]), ("lon", centre[0]), ("lat", off[1]), ("lon", off[0])],
        role="viewer",
    )
    assert r.status_code == 200, r.text
    got = [p["elevation_m"] for p in r.json()["items"]]
    assert got[1] == pytest.approx(_bilinear(GALE_1M, *off), abs=1e-3)
    with rasterio.open(GALE_1M) as src:
        x, y = src.transform * (200.5, 100.5)
    gdal = subprocess.run(
        ["gdallocationinfo", "-valonly", "-geoloc", str(GALE_1M), str(x), str(y)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert got[0] == pytest.approx(float(gdal.stdout.strip()), abs=1e-3)
    # the same points as a GeoJSON MultiPoint
    r = service.call(
        "POST",
        f"{DATA}/terrain/gale-1m/elevation",
        json={"type": "MultiPoint", "coordinates": [list(centre), list(off)]},
        role="operator",
    )
    assert r.status_code == 200, r.text
    assert [p["elevation_m"] for p in r.json()["items"]] == pytest.approx(got)


def test_elevation_outside_the_dem_is_a_problem(service: Service) -> None:
    r = service.call("GET", f"{DATA}/terrain/gale-mola/elevation?lat=40&lon=10", role="scientist")
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "outside" in r.json()["detail"]


def test_profile_length_and_ends_match_pyproj_on_the_mars_sphere(service: Service) -> None:
    start, end = (137.30, -4.80), (137.50, -4.55)
    r = service.call(
        "POST",
        f"{DATA}/terrain/gale-mola/profile",
        json={"line": {"type": "LineString", "coordinates": [start, end]}, "samples": 50},
        role="viewer",
    )
    assert r.status_code == 200, r.text
    body = r.json()
    _, _, length = Geod(a=R_MARS, b=R_MARS).inv(start[0], start[1], end[0], end[1])
    assert body["length_m"] == pytest.approx(length, rel=1e-9)
    items = body["items"]
    assert len(items) == 50
    assert items[-1]["distance_m"] == pytest.approx(length, rel=1e-9)
    assert (items[0]["lon"], items[0]["lat"]) == pytest.approx(start)
    dem = marsgis.open_dem("gale-mola")
    mid = items[25]
    assert mid["elevation_m"] == pytest.approx(
        marsgis.sample(dem, mid["lat"], mid["lon"]), abs=1e-6
    )


def test_profile_along_a_polyline_matches_pyproj_and_rasterio(service: Service) -> None:
    """A 4-vertex line: points by pyproj's geodesics on the Mars sphere, heights by rasterio."""
    vertices = [(137.368, -4.669), (137.372, -4.668), (137.3715, -4.665), (137.3685, -4.6645)]
    samples = 13
    r = service.call(
        "POST",
        f"{DATA}/terrain/gale-1m/profile",
        json={"line": {"type": "LineString", "coordinates": vertices}, "samples": samples},
        role="viewer",
    )
    assert r.status_code == 200, r.text
    body = r.json()
    geod = Geod(a=R_MARS, b=R_MARS)
    legs = [geod.inv(*a, *b) for a, b in itertools.pairwise(vertices)]
    starts = np.concatenate([[0.0], np.cumsum([d for _, _, d in legs])])
    assert body["length_m"] == pytest.approx(starts[-1], rel=1e-9)
    items = body["items"]
    assert len(items) == samples
    for k, item in enumerate(items):
        distance = starts[-1] * k / (samples - 1)
        leg = min(int(np.searchsorted(starts, distance, side="right")) - 1, len(legs) - 1)
        lon, lat, _ = geod.fwd(*vertices[leg], legs[leg][0], distance - starts[leg])
        assert item["distance_m"] == pytest.approx(distance, rel=1e-9, abs=1e-6)
        assert item["leg"] == leg
        assert (item["lon"], item["lat"]) == pytest.approx((lon, lat), abs=1e-7)
        assert item["elevation_m"] == pytest.approx(_bilinear(GALE_1M, lon, lat), abs=1e-3)
    assert (items[-1]["lon"], items[-1]["lat"]) == pytest.approx(vertices[-1])
    assert {item["leg"] for item in items} == {0, 1, 2}


def test_stats_in_a_polygon_equal_numpy_on_a_rasterio_mask(service: Service) -> None:
    polygon = box(137.30, -4.75, 137.45, -4.60)
    r = service.call(
        "POST",
        f"{DATA}/terrain/gale-mola/stats",
        json={"polygon": mapping(polygon), "product": "slope"},
        role="viewer",
    )
    assert r.status_code == 200, r.text
    got = r.json()
    dem = marsgis.open_dem("gale-mola")
    slope = np.asarray(marsgis.terrain.slope(dem).values, dtype=np.float64)
    inside = rasterio.features.geometry_mask(
        [mapping(polygon)], out_shape=slope.shape, transform=dem.rio.transform(), invert=True
    )
    values = slope[inside & np.isfinite(slope)]
    assert got["count"] == values.size > 100
    assert got["min"] == pytest.approx(values.min())
    assert got["max"] == pytest.approx(values.max())
    assert got["mean"] == pytest.approx(values.mean(), rel=1e-9)
    assert got["std"] == pytest.approx(values.std(), rel=1e-9)
    assert got["p50"] == pytest.approx(np.percentile(values, 50))
    assert got["p90"] == pytest.approx(np.percentile(values, 90))


def test_geotiff_window_has_mars_crs_bounds_and_the_library_slope(service: Service) -> None:
    bbox = (137.30, -4.75, 137.45, -4.60)
    r = service.call(
        "GET",
        f"{DATA}/terrain/gale-mola/slope.tif",
        params={"bbox": ",".join(map(str, bbox))},
        role="viewer",
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/tiff"
    dem = marsgis.open_dem("gale-mola")
    cell = abs(dem.rio.resolution()[0])
    with rasterio.MemoryFile(io.BytesIO(r.content).read()) as mem, mem.open() as src:
        crs = CRS.from_user_input(src.crs)
        assert crs.ellipsoid is not None
        assert crs.ellipsoid.semi_major_metre == pytest.approx(R_MARS)
        assert crs.equals(CRS.from_user_input("IAU_2015:49900"))
        left, bottom, right, top = src.bounds
        got = src.read(1)
        col0, row0 = (~dem.rio.transform()) * (left, top)
    assert (left, bottom, right, top) == pytest.approx(bbox, abs=cell)
    assert left <= bbox[0] and right >= bbox[2] and bottom <= bbox[1] and top >= bbox[3]
    r0, c0 = round(row0), round(col0)
    expected = marsgis.terrain.slope(dem).values[r0 : r0 + got.shape[0], c0 : c0 + got.shape[1]]
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(
    "path",
    [
        "/terrain/mars-2050/elevation?lat=0&lon=0",
        "/terrain/..%2F..%2Fetc%2Fpasswd/elevation?lat=0&lon=0",
        "/terrain/../../etc/passwd/elevation?lat=0&lon=0",
        "/terrain/gazetteer/slope.tif?bbox=137,-5,137.1,-4.9",
        "/terrain/%2Fetc%2Fpasswd/slope.tif?bbox=137,-5,137.1,-4.9",
    ],
)
def test_unknown_datasets_and_paths_are_404(service: Service, path: str) -> None:
    r = service.call("GET", DATA + path, role="admin")
    assert r.status_code == 404, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "root:" not in r.text  # nothing of /etc/passwd came back


def test_oversize_window_is_refused_naming_the_limit(service: Service) -> None:
    r = service.call(
        "GET", f"{DATA}/terrain/gale-1m/hillshade.tif?bbox=130,-10,140,0", role="viewer"
    )
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert "4096 × 4096" in detail
    rows = round(10 * np.pi * R_MARS / 180)  # 10° of latitude at 1 m cells
    assert f"{rows} ×" in detail or f"{rows + 1} ×" in detail


def test_no_token_is_401(service: Service) -> None:
    for method, path in [
        ("GET", "/datasets"),
        ("GET", "/terrain/mola/elevation?lat=0&lon=0"),
        ("GET", "/terrain/mola/slope.tif?bbox=0,0,1,1"),
    ]:
        assert service.call(method, DATA + path).status_code == 401


def test_a_box_across_the_global_seam_is_refused_not_widened(service: Service) -> None:
    """On MOLA (0–360 °E) a box from −10 to 10 °E would span the seam: refused, not 360° wide."""
    r = service.call("GET", f"{DATA}/terrain/mola/slope.tif?bbox=-10,0,10,5", role="viewer")
    assert r.status_code == 422
    assert "seam" in r.json()["detail"]
    r = service.call("GET", f"{DATA}/terrain/mola/elevation.tif?bbox=-20,0,-10,5", role="viewer")
    assert r.status_code == 200
    with rasterio.MemoryFile(r.content) as mem, mem.open() as src:
        # the box's edges fall on 1/4° cell edges: exactly 40 × 20 cells, −20 °E = 340 °E
        assert tuple(src.bounds) == pytest.approx((340.0, 0.0, 350.0, 5.0), abs=1e-9)
        assert (src.height, src.width) == (20, 40)


@pytest.mark.parametrize("role", ROLES)
def test_every_terrain_route_is_open_to_every_role(service: Service, role: str) -> None:
    line = {"type": "LineString", "coordinates": [[137.3, -4.8], [137.4, -4.7]]}
    polygon = mapping(box(137.3, -4.75, 137.45, -4.6))
    calls = [
        ("GET", "/terrain/gale-mola/elevation?lat=-4.7&lon=137.4", None),
        (
            "POST",
            "/terrain/gale-mola/elevation",
            {"type": "MultiPoint", "coordinates": [[137.4, -4.7]]},
        ),
        ("POST", "/terrain/gale-mola/profile", {"line": line, "samples": 5}),
        ("POST", "/terrain/gale-mola/stats", {"polygon": polygon, "product": "roughness"}),
        ("GET", "/terrain/gale-mola/aspect.tif?bbox=137.3,-4.75,137.45,-4.6", None),
    ]
    for method, path, body in calls:
        r = service.call(method, DATA + path, role=role, json=body)
        assert r.status_code == 200, (method, path, r.text)
