"""``/inference``: the model registry, classification of uploaded images, and batch jobs.

* ``GET /inference/models`` — :func:`marsgis.ml.list_models` (shipped and registered).
* ``POST /inference/predict`` — ``multipart/form-data`` with one or more image parts (PNG,
  JPEG or single-band GeoTIFF crops; at most :data:`MAX_FILES`, each at most
  :data:`MAX_FILE_BYTES` and :data:`MAX_IMAGE_SIDE` pixels a side) and optional ``model`` /
  ``version`` fields → :meth:`marsgis.ml.Classifier.predict` of each image.
* ``POST /inference/batch`` — JSON ``{"dataset", "bbox", ...}`` (a shipped DEM's hillshade
  over a W,S,E,N window, :func:`marsgis.ml.batch.classify_dataset_window`) or
  ``multipart/form-data`` with a ``file`` GeoTIFF in a Mars CRS
  (:func:`marsgis.ml.batch.classify_geotiff`) → a job (:mod:`marsgis.api.jobs`):
  ``202 Accepted``, ``Location: /api/v1/jobs/{id}``; its result is a GeoTIFF with a ``class``
  and a ``confidence`` band (:func:`marsgis.ml.batch.write_classification`).

Everything a request names is checked before a job is made: the dataset (``404``), the box
and the window size (``422``), the model (``404``), the upload (``413``/``422``).

Uploads are FastAPI ``File``/``Form`` parameters (parsed by ``python-multipart``); the whole body
is bounded by the app's request-size limit first, and each file is read only up to its limit
(:data:`MAX_FILE_BYTES` for an image, :data:`MAX_UPLOAD_BYTES` for a batch GeoTIFF) before it is
refused with ``413``.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pydantic
from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from PIL import Image

import marsgis.ml
from marsgis.api import jobs
from marsgis.api.auth import Principal, database, require
from marsgis.api.models import Page, Problem
from marsgis.api.models_jobs import BatchIn, ImagePrediction, JobOut, ModelOut, Predictions
from marsgis.api.routers import API_PREFIX
from marsgis.api.routers.jobs import job_body, job_location
from marsgis.api.scopes import DATA_READ, INFERENCE_RUN
from marsgis.data import raster_entry
from marsgis.exceptions import ValidationError
from marsgis.geo import parse_bbox
from marsgis.io.atomic import write_bytes
from marsgis.ml import batch

__all__ = ["MAX_FILES", "MAX_FILE_BYTES", "MAX_IMAGE_SIDE", "MAX_UPLOAD_BYTES", "router"]

PREFIX = f"{API_PREFIX}/inference"
#: Most images in one ``predict`` request.
MAX_FILES = 32
#: Largest image file in a ``predict`` request (bytes).
MAX_FILE_BYTES = 512 * 1024
#: Largest side of an image in a ``predict`` request (pixels).
MAX_IMAGE_SIDE = 4096
#: Largest GeoTIFF uploaded to ``batch`` (bytes; the request-size limit applies first).
MAX_UPLOAD_BYTES = 32 * 1024 * 1024
#: Largest batch window / uploaded GeoTIFF, ``(rows, columns)``.
MAX_BATCH_CELLS = (1024, 1024)
BATCH_KIND = "inference.batch"

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}}
    for code in (400, 401, 403, 404, 413, 422)
}
router = APIRouter(prefix=PREFIX, tags=["inference"], responses=_ERRORS)

Store = Annotated[Any, Depends(database)]
Reader = Annotated[Principal, Depends(require(DATA_READ))]
Runner = Annotated[Principal, Depends(require(INFERENCE_RUN))]

_BATCH_JSON = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": BatchIn.model_json_schema()}},
    }
}
ModelField = Annotated[str, Form(description="the classifier's name (GET /inference/models)")]
VersionField = Annotated[int | None, Form(description="its version; default: the newest")]


async def _read_upload(upload: UploadFile, limit: int) -> tuple[str, bytes]:
    """The file name and bytes of ``upload``; ``413`` when it has more than ``limit`` bytes.

    At most ``limit + 1`` bytes are read, so a larger file is refused without reading it all.
    """
    filename = Path(upload.filename or "upload").name or "upload"
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(
            413,
            detail=f"file {filename!r} has more than the {limit} bytes allowed per file; "
            "send a smaller crop",
        )
    return filename, data


def _open_image(filename: str, data: bytes) -> Any:
    """An uploaded image for :meth:`Classifier.predict`: a Pillow image or a 2-D array."""
    if data[:4] in (b"II*\x00", b"MM\x00*"):  # (Geo)TIFF: band 1, through GDAL
        from rasterio.io import MemoryFile

        try:
            with MemoryFile(data) as mem, mem.open() as src:
                _check_side(filename, src.width, src.height)
                band = src.read(1)
        except Exception as exc:  # rasterio raises several error types for a bad file
            raise ValidationError(f"image {filename!r} is not a readable TIFF ({exc})") from None
        if band.dtype == np.uint16:
            return band.astype(np.float32) / np.float32(65535.0)
        return band
    try:
        image = Image.open(io.BytesIO(data))
        _check_side(filename, image.width, image.height)
        image.load()
    except (OSError, Image.DecompressionBombError, SyntaxError) as exc:
        raise ValidationError(
            f"image {filename!r} is not a PNG, JPEG or GeoTIFF Pillow/GDAL can decode ({exc})"
        ) from None
    return image


def _check_side(filename: str, width: int, height: int) -> None:
    if max(width, height) > MAX_IMAGE_SIDE:
        raise ValidationError(
            f"image {filename!r} is {width} × {height} pixels, more than {MAX_IMAGE_SIDE} a "
            "side; send a crop (the classifier sees 227-pixel tiles)"
        )


# --------------------------------------------------------------------------- models


@router.get("/models", response_model=Page[ModelOut])
def list_models(
    store: Store,
    _: Reader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[ModelOut]:
    """The model registry: shipped and registered classifiers, by name and version."""
    found = marsgis.ml.list_models(store)
    items = []
    for info in found[offset : offset + limit]:
        summary = info.to_dict()
        items.append(
            ModelOut(
                name=info.name,
                version=info.version,
                source=info.source,  # type: ignore[arg-type]
                sha256=info.sha256,
                created_at=info.created_at,
                classes=summary["classes"],
                input_shape=summary["input_shape"],
                tile_size=info.metadata.get("tile_size"),
                val_accuracy=summary["val_accuracy"],
                val_balanced_accuracy=summary["val_balanced_accuracy"],
            )
        )
    return Page[ModelOut](items=items, total=len(found), limit=limit, offset=offset)


# --------------------------------------------------------------------------- predict


def _predict(
    store: Any, model: str, version: int | None, files: list[tuple[str, bytes]]
) -> Predictions:
    images = [_open_image(name, data) for name, data in files]
    clf = marsgis.ml.load(model.strip() or "terrain-classifier", version=version, db=store)
    prediction = clf.predict(images)
    items = [
        ImagePrediction.model_validate(
            {
                "filename": name,
                "class": prediction.labels[i],
                "class_id": int(prediction.class_ids[i]),
                "probability": float(prediction.confidence[i]),
                "probabilities": [float(p) for p in prediction.probabilities[i]],
            }
        )
        for i, (name, _) in enumerate(files)
    ]
    return Predictions(
        model=clf.name, model_version=clf.version, classes=list(clf.classes), items=items
    )


@router.post("/predict", response_model=Predictions)
async def predict(
    files: Annotated[
        list[UploadFile],
        File(
            description=f"PNG, JPEG or single-band GeoTIFF crops: at most {MAX_FILES}, each at "
            f"most {MAX_FILE_BYTES} bytes and {MAX_IMAGE_SIDE} pixels a side"
        ),
    ],
    store: Store,
    _: Runner,
    model: ModelField = "terrain-classifier",
    version: VersionField = None,
) -> JSONResponse:
    """Classify uploaded images: per image its class, probability and probability vector."""
    if len(files) > MAX_FILES:
        raise ValidationError(
            f"{len(files)} images in one request, more than {MAX_FILES}; split the upload"
        )
    uploads = [await _read_upload(upload, MAX_FILE_BYTES) for upload in files]
    result = await run_in_threadpool(_predict, store, model, version, uploads)
    return JSONResponse(result.model_dump(mode="json", by_alias=True))


# --------------------------------------------------------------------------- batch


def _geotiff(result: Any, filename: str) -> jobs.FileResult:
    with tempfile.TemporaryDirectory(prefix="marsgis-job-") as tmp:
        path = batch.write_classification(result, Path(tmp) / filename)
        return jobs.FileResult(path.read_bytes(), "image/tiff", filename)


def classify_dataset_job(
    clf: Any, dataset: str, bbox: tuple[float, float, float, float], tile: Any, stride: Any
) -> jobs.FileResult:
    """Job: classify a shipped DEM's window (:func:`marsgis.ml.batch.classify_dataset_window`)."""
    result = batch.classify_dataset_window(
        dataset, bbox, clf, tile=tile, stride=stride, max_cells=MAX_BATCH_CELLS
    )
    return _geotiff(result, f"{dataset}-classes.tif")


def classify_geotiff_job(
    clf: Any, content: bytes, band: int, tile: Any, stride: Any
) -> jobs.FileResult:
    """Job: classify an uploaded GeoTIFF (:func:`marsgis.ml.batch.classify_geotiff`)."""
    with tempfile.TemporaryDirectory(prefix="marsgis-job-") as tmp:
        path = write_bytes(Path(tmp) / "upload.tif", content)
        result = batch.classify_geotiff(
            path, clf, band=band, tile=tile, stride=stride, max_cells=MAX_BATCH_CELLS
        )
        return _geotiff(result, "upload-classes.tif")


def _batch_from_json(store: Any, body: bytes, owner: str) -> jobs.Job:
    try:
        spec = BatchIn.model_validate_json(body)
    except pydantic.ValidationError as exc:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        raise ValidationError(f"the batch request is not valid: {detail}") from None
    raster_entry(spec.dataset)  # an unknown dataset is a 404 before anything else
    box = parse_bbox(spec.bbox)
    batch.dataset_image(spec.dataset, box, max_cells=MAX_BATCH_CELLS)  # window and its size
    clf = marsgis.ml.load(spec.model, version=spec.version, db=store)
    parameters = {**spec.model_dump(), "model": clf.name, "version": clf.version}
    return jobs.submit(
        store,
        BATCH_KIND,
        owner,
        classify_dataset_job,
        clf,
        spec.dataset,
        box,
        spec.tile,
        spec.stride,
        parameters=parameters,
    )


def _batch_from_upload(
    store: Any,
    owner: str,
    upload: tuple[str, bytes],
    *,
    band: int,
    model: str,
    version: int | None,
    tile: int | None,
    stride: int | None,
) -> jobs.Job:
    filename, content = upload
    with tempfile.TemporaryDirectory(prefix="marsgis-upload-") as tmp:
        path = write_bytes(Path(tmp) / "upload.tif", content)
        batch.geotiff_image(path, band=band, max_cells=MAX_BATCH_CELLS)  # readable, Mars, size
    clf = marsgis.ml.load(model.strip() or "terrain-classifier", version=version, db=store)
    parameters = {
        "file": filename,
        "bytes": len(content),
        "band": band,
        "model": clf.name,
        "version": clf.version,
        "tile": tile,
        "stride": stride,
    }
    return jobs.submit(
        store,
        BATCH_KIND,
        owner,
        classify_geotiff_job,
        clf,
        content,
        band,
        tile,
        stride,
        parameters=parameters,
    )


@router.post(
    "/batch",
    status_code=202,
    response_model=JobOut,
    openapi_extra=_BATCH_JSON,
    responses={202: {"description": "the job; poll its Location"}},
)
async def batch_classify(
    request: Request,
    *,
    store: Store,
    principal: Runner,
    file: Annotated[
        UploadFile | None,
        File(description="multipart/form-data: a single-band GeoTIFF in a Mars CRS"),
    ] = None,
    band: Annotated[int, Form(ge=1, description="the band of the GeoTIFF to classify")] = 1,
    model: ModelField = "terrain-classifier",
    version: VersionField = None,
    tile: Annotated[int | None, Form(ge=8, le=2048, description="tile side (pixels)")] = None,
    stride: Annotated[int | None, Form(ge=1, le=2048, description="tile step (pixels)")] = None,
) -> JSONResponse:
    """Classify a dataset window or an uploaded GeoTIFF as a job (``202`` + ``Location``).

    The body is JSON (:class:`~marsgis.api.models_jobs.BatchIn`) or ``multipart/form-data``
    with the GeoTIFF as ``file`` and the other fields as form fields.
    """
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith("multipart/form-data"):
        if file is None:
            raise ValidationError(
                "no file in the batch request; upload one GeoTIFF as 'file' (curl -F file=@dem.tif)"
            )
        upload = await _read_upload(file, MAX_UPLOAD_BYTES)
        job = await run_in_threadpool(
            _batch_from_upload,
            store,
            principal.name,
            upload,
            band=band,
            model=model,
            version=version,
            tile=tile,
            stride=stride,
        )
    elif content_type.startswith("application/json") or not content_type:
        job = await run_in_threadpool(_batch_from_json, store, await request.body(), principal.name)
    else:
        raise ValidationError(
            f"Content-Type {content_type!r} is not accepted; send application/json "
            '({"dataset", "bbox"}) or multipart/form-data with a GeoTIFF file'
        )
    return JSONResponse(
        job_body(job).model_dump(mode="json"),
        status_code=202,
        headers={"Location": job_location(job)},
    )
