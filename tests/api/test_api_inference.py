"""Inference routes against the library: predict on real HiRISE crops, batch jobs pixel for pixel."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from api_service import Service
from PIL import Image
from rasterio.transform import from_origin

import marsgis
import marsgis.ml
from marsgis import terrain
from marsgis.api.routers.inference import MAX_FILE_BYTES, MAX_FILES
from marsgis.db import jobs as job_store
from marsgis.ml.datasets import HIRISE_LANDMARKS_DIR, read_image
from marsgis.ml.registry import SHIPPED_MODELS

INF = "/api/v1/inference"
CROPS = [
    HIRISE_LANDMARKS_DIR / "images" / name
    for name in (
        "ESP_011289_1950_RED-0039.jpg",
        "ESP_011289_1950_RED-0131-fh.jpg",
        "ESP_011289_1950_RED-0170.jpg",
    )
]
GALE_BOX = "137.3685,-4.6690,137.3725,-4.6650"  # 238 × 238 cells of the 1 m Gale DEM
MARS_EQC = "+proj=eqc +R=3396190 +units=m +no_defs"


@pytest.fixture(scope="module")
def classifier() -> Any:
    return marsgis.ml.load("terrain-classifier", device="cpu")


def _files(paths: list[Path]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (p.name, p.read_bytes(), "image/jpeg")) for p in paths]


def _geotiff(array: np.ndarray, path: Path, crs: str = MARS_EQC) -> Path:
    profile = {
        "driver": "GTiff",
        "width": array.shape[1],
        "height": array.shape[0],
        "count": 1,
        "dtype": array.dtype.name,
        "crs": crs,
        "transform": from_origin(8142476.0, -276516.0, 1.0, 1.0),
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(array, 1)
    return path


def _count_jobs(service: Service) -> int:
    return len(job_store.list_jobs(db=service.url))


def _poll(service: Service, location: str, limit: float = 300.0) -> dict[str, Any]:
    deadline = time.monotonic() + limit
    while True:
        body: dict[str, Any] = service.call("GET", location, role="scientist").json()
        if body["status"] in ("succeeded", "failed"):
            return body
        if time.monotonic() > deadline:
            pytest.fail(f"job still {body['status']} after {limit} s")
        time.sleep(0.2)


def test_models_lists_the_shipped_classifier(service: Service, classifier: Any) -> None:
    for role in ("admin", "scientist", "operator", "viewer"):
        got = service.call("GET", f"{INF}/models", role=role)
        assert got.status_code == 200, role
    body = got.json()
    (model,) = [m for m in body["items"] if m["name"] == "terrain-classifier"]
    version, sha = SHIPPED_MODELS["terrain-classifier"]
    assert (model["version"], model["sha256"], model["source"]) == (version, sha, "package")
    assert model["classes"] == list(classifier.classes) and model["tile_size"] == 227
    assert service.call("GET", f"{INF}/models").status_code == 401


def test_predict_equals_the_library(service: Service, classifier: Any, tmp_path: Path) -> None:
    # the shipped JPEG crops, one as lossless PNG and one as a GeoTIFF with a Mars CRS
    png = io.BytesIO()
    Image.open(CROPS[1]).save(png, format="PNG")
    tif = _geotiff(read_image(CROPS[2]), tmp_path / "crop.tif")
    files = [
        ("files", (CROPS[0].name, CROPS[0].read_bytes(), "image/jpeg")),
        ("files", ("crop.png", png.getvalue(), "image/png")),
        ("files", ("crop.tif", tif.read_bytes(), "image/tiff")),
    ]
    before = _count_jobs(service)
    got = service.call("POST", f"{INF}/predict", role="scientist", files=files)
    assert got.status_code == 200, got.text
    body = got.json()
    expected = classifier.predict(CROPS)
    assert body["classes"] == list(expected.classes)
    assert (body["model"], body["model_version"]) == ("terrain-classifier", 1)
    assert [i["filename"] for i in body["items"]] == [CROPS[0].name, "crop.png", "crop.tif"]
    assert [i["class"] for i in body["items"]] == expected.labels
    assert [i["class_id"] for i in body["items"]] == expected.class_ids.tolist()
    np.testing.assert_allclose(
        [i["probabilities"] for i in body["items"]], expected.probabilities, atol=1e-6
    )
    np.testing.assert_allclose(
        [i["probability"] for i in body["items"]], expected.confidence, atol=1e-6
    )
    assert _count_jobs(service) == before  # predict answers at once, no job


def test_predict_limits(service: Service) -> None:
    too_big = [("files", ("big.jpg", b"\xff\xd8" + b"\0" * (MAX_FILE_BYTES + 1), "image/jpeg"))]
    got = service.call("POST", f"{INF}/predict", role="scientist", files=too_big)
    assert got.status_code == 413 and got.headers["content-type"] == "application/problem+json"
    assert "per file" in got.json()["detail"]
    small = CROPS[0].read_bytes()
    many = [("files", (f"{i}.jpg", small, "image/jpeg")) for i in range(MAX_FILES + 1)]
    assert len(small) * len(many) < 1 << 20  # under the request limit: the count is refused
    got = service.call("POST", f"{INF}/predict", role="scientist", files=many)
    assert got.status_code == 422 and "33 images in one request" in got.json()["detail"]
    junk = [("files", ("notes.jpg", b"not an image at all", "image/jpeg"))]
    got = service.call("POST", f"{INF}/predict", role="scientist", files=junk)
    assert got.status_code == 422 and "'notes.jpg' is not a PNG" in got.json()["detail"]
    got = service.call("POST", f"{INF}/predict", role="scientist", data={"model": "x"})
    assert got.status_code == 422
    got = service.call(
        "POST", f"{INF}/predict", role="scientist", files=_files(CROPS[:1]), data={"model": "no"}
    )
    assert got.status_code == 404 and "no model named 'no'" in got.json()["detail"]


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_refused_roles_write_nothing(service: Service, role: str) -> None:
    before = _count_jobs(service)
    got = service.call("POST", f"{INF}/predict", role=role, files=_files(CROPS[:1]))
    assert got.status_code == 403
    got = service.call(
        "POST", f"{INF}/batch", role=role, json={"dataset": "gale-1m", "bbox": GALE_BOX}
    )
    assert got.status_code == 403 and got.headers["content-type"] == "application/problem+json"
    assert _count_jobs(service) == before


@pytest.mark.usefixtures("job_cluster")
def test_batch_window_equals_classify_raster(
    service: Service, classifier: Any, tmp_path: Path
) -> None:
    got = service.call(
        "POST", f"{INF}/batch", role="scientist", json={"dataset": "gale-1m", "bbox": GALE_BOX}
    )
    assert got.status_code == 202, got.text
    job = got.json()
    assert got.headers["location"] == f"/api/v1/jobs/{job['id']}"
    assert job["kind"] == "inference.batch" and job["status"] in ("queued", "running")
    assert job["parameters"]["dataset"] == "gale-1m"
    done = _poll(service, got.headers["location"])
    assert done["status"] == "succeeded", done
    (link,) = [x for x in done["links"] if x["rel"] == "result"]
    assert link["type"] == "image/tiff"
    tif = service.call("GET", link["href"], role="scientist")
    assert tif.status_code == 200 and tif.headers["content-type"] == "image/tiff"
    path = tmp_path / "result.tif"
    path.write_bytes(tif.content)

    # the library, called directly on the same window (hillshade of the whole DEM, then cut)
    dem = marsgis.open_dem("gale-1m")
    window = terrain.box_window(
        terrain.hillshade(dem), tuple(float(v) for v in GALE_BOX.split(","))
    )
    expected = marsgis.ml.classify_raster(window.compute(), classifier, value_range=(0, 255))
    with rasterio.open(path) as src:
        assert src.count == 2 and src.descriptions == ("class", "confidence")
        assert src.crs == rasterio.crs.CRS.from_user_input(dem.rio.crs)
        assert src.transform == window.rio.transform(recalc=True)
        classes, confidence = src.read(1), src.read(2)
        assert src.tags()["classes"] == ",".join(classifier.classes)
    np.testing.assert_array_equal(classes, expected["class"].values.astype(np.float32))
    np.testing.assert_allclose(confidence, expected["confidence"].values, atol=1e-6)


@pytest.mark.usefixtures("job_cluster")
def test_batch_uploaded_geotiff_and_a_failing_one(
    service: Service, classifier: Any, tmp_path: Path
) -> None:
    mosaic = np.hstack([read_image(p) for p in CROPS[:2]])  # 227 × 454 real HiRISE pixels
    tif = _geotiff(mosaic, tmp_path / "mosaic.tif")
    files = {"file": ("mosaic.tif", tif.read_bytes(), "image/tiff")}
    got = service.call("POST", f"{INF}/batch", role="scientist", files=files, data={"tile": "227"})
    assert got.status_code == 202, got.text
    done = _poll(service, got.headers["location"])
    assert done["status"] == "succeeded", done
    result = service.call("GET", f"{got.headers['location']}/result", role="scientist")
    (tmp_path / "out.tif").write_bytes(result.content)
    expected = marsgis.ml.classify_raster(mosaic, classifier, tile=227)
    with rasterio.open(tmp_path / "out.tif") as out, rasterio.open(tif) as src:
        assert out.crs == src.crs and out.transform == src.transform
        np.testing.assert_array_equal(out.read(1), expected["class"].values.astype(np.float32))
        np.testing.assert_allclose(out.read(2), expected["confidence"].values, atol=1e-6)

    # an int32 image has no default value range: the job fails and says so
    bad = _geotiff(mosaic.astype(np.int32), tmp_path / "int32.tif")
    files = {"file": ("int32.tif", bad.read_bytes(), "image/tiff")}
    got = service.call("POST", f"{INF}/batch", role="scientist", files=files)
    assert got.status_code == 202
    failed = _poll(service, got.headers["location"])
    assert failed["status"] == "failed"
    assert "has no default value range; pass value_range" in failed["error"]["detail"]


def test_batch_refuses_bad_requests_before_any_job(service: Service, tmp_path: Path) -> None:
    before = _count_jobs(service)
    cases = [
        ({"dataset": "olympus", "bbox": GALE_BOX}, 404, "olympus"),
        ({"dataset": "../../etc/passwd", "bbox": GALE_BOX}, 404, "passwd"),
        ({"dataset": "gale-1m", "bbox": "1,2,3"}, 422, "bbox"),
        ({"dataset": "mola", "bbox": "1,-60,300,60"}, 422, "the limit is 1024 × 1024"),
        ({"dataset": "gale-1m"}, 422, "bbox"),
        ({"dataset": "gale-1m", "bbox": GALE_BOX, "model": "nope"}, 404, "no model named"),
    ]
    for body, status, text in cases:
        got = service.call("POST", f"{INF}/batch", role="scientist", json=body)
        assert got.status_code == status, (body, got.text)
        assert got.headers["content-type"] == "application/problem+json"
        assert text in got.json()["detail"], got.json()
    earth = _geotiff(np.zeros((8, 8), np.uint8), tmp_path / "earth.tif", crs="EPSG:4326")
    files = {"file": ("earth.tif", earth.read_bytes(), "image/tiff")}
    got = service.call("POST", f"{INF}/batch", role="scientist", files=files)
    assert got.status_code in (400, 422) and "Mars" in got.json()["detail"]
    assert _count_jobs(service) == before


def test_openapi_documents_the_multipart_bodies(service: Service) -> None:
    spec = service.call("GET", "/api/v1/openapi.json").json()
    schemas = spec["components"]["schemas"]

    def form(path: str) -> dict[str, Any]:
        body = spec["paths"][path]["post"]["requestBody"]["content"]
        ref = body["multipart/form-data"]["schema"]["$ref"]
        found: dict[str, Any] = schemas[ref.rsplit("/", 1)[-1]]
        return found

    predict = form(f"{INF}/predict")
    assert predict["required"] == ["files"]
    assert predict["properties"]["files"]["type"] == "array"
    assert predict["properties"]["files"]["items"]["contentMediaType"] == (
        "application/octet-stream"
    )
    assert set(predict["properties"]) == {"files", "model", "version"}
    upload = form(f"{INF}/batch")
    assert set(upload["properties"]) == {"file", "band", "model", "version", "tile", "stride"}
    json_body = spec["paths"][f"{INF}/batch"]["post"]["requestBody"]["content"]
    assert json_body["application/json"]["schema"]["required"] == ["dataset", "bbox"]
