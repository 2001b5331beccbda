"""Pydantic models of the job resource (``/jobs``) and the inference routes (``/inference``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from marsgis.db.jobs import Job

__all__ = [
    "BatchIn",
    "ImagePrediction",
    "JobError",
    "JobOut",
    "Link",
    "ModelOut",
    "Predictions",
]


class Link(BaseModel):
    """A link from a resource: ``rel`` (``self``, ``result``), ``href`` and media ``type``."""

    rel: str
    href: str
    type: str | None = None


class JobError(BaseModel):
    """Why a job failed, as an RFC 9457 problem (without ``instance``/``trace_id``)."""

    type: str = "urn:marsgis:error:JobFailed"
    title: str = "Job failed"
    detail: str


class JobOut(BaseModel):
    """A job: a long request run on the cluster (poll it until ``succeeded`` or ``failed``)."""

    id: str
    kind: str
    status: Literal["queued", "running", "succeeded", "failed"]
    owner: str
    parameters: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: JobError | None = Field(None, description="set when the job failed")
    links: list[Link]

    @classmethod
    def of(cls, job: Job, *, self_href: str, result_href: str) -> JobOut:
        """The response model of a stored job (links to itself, and to its result when done)."""
        links = [Link(rel="self", href=self_href, type="application/json")]
        if job.status == "succeeded":
            links.append(Link(rel="result", href=result_href, type=job.result_media_type))
        return cls(
            id=job.id,
            kind=job.kind,
            status=job.status,  # type: ignore[arg-type]
            owner=job.owner,
            parameters=job.parameters,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            error=None if job.error is None else JobError(detail=job.error),
            links=links,
        )


class ModelOut(BaseModel):
    """A classifier of the model registry."""

    name: str
    version: int
    source: Literal["package", "database"]
    sha256: str
    created_at: datetime | None
    classes: list[str]
    input_shape: list[int]
    tile_size: int | None
    val_accuracy: float | None
    val_balanced_accuracy: float | None


class ImagePrediction(BaseModel):
    """The class of one uploaded image and the full probability vector (order of ``classes``)."""

    filename: str
    class_: str = Field(alias="class", serialization_alias="class")
    class_id: int
    probability: float = Field(description="probability of the predicted class")
    probabilities: list[float]

    model_config = ConfigDict(populate_by_name=True)


class Predictions(BaseModel):
    """Body of ``POST /inference/predict``: one entry per uploaded image, in upload order."""

    model: str
    model_version: int
    classes: list[str]
    items: list[ImagePrediction]


class BatchIn(BaseModel):
    """Body of ``POST /inference/batch`` (JSON): a shipped dataset and a W,S,E,N window."""

    model_config = ConfigDict(extra="forbid")
    dataset: str = Field(description="a raster of /mars-data/datasets, e.g. gale-1m")
    bbox: str = Field(description="W,S,E,N degrees", examples=["137.3685,-4.6690,137.3725,-4.6650"])
    model: str = "terrain-classifier"
    version: int | None = None
    tile: int | None = Field(None, ge=8, le=2048, description="tile side in pixels")
    stride: int | None = Field(None, ge=1, le=2048, description="step between tiles")
