"""The model registry: versioned artefacts in a store directory, listed in the database.

An *artefact* is a folder with two files:

``model.pt``
    The network's ``state_dict`` (``torch.save``; loaded with ``weights_only=True``, so a
    tampered file cannot run code).
``model.json``
    Metadata: ``name``, ``version``, ``architecture`` and ``model_kwargs`` (to rebuild the
    network), ``classes``, ``input_shape``, ``tile_size``, ``normalization``, ``sha256`` of
    ``model.pt``, ``marsgis_version``, ``torch_version``, ``created_at``, ``training`` (data
    hash, config, observation split, class weights, history) and ``metrics`` (validation).

Where models live
-----------------
* Shipped with the package: ``marsgis/data/models/<name>/<version>/`` —
  ``terrain-classifier`` version 1, whose sha256 is recorded in :data:`SHIPPED_MODELS` and
  checked on every load.
* Registered: :func:`register_model` copies an artefact to
  ``<store>/<name>/<version>/`` (default store ``$MARSGIS_DATA_DIR/models``) and adds a row
  to the model index (the ``ml_models`` table, :mod:`marsgis.db.models`: name, version, path,
  sha256, metadata, metrics) of the configured database (SpatiaLite or PostGIS); versions
  count on from the shipped one.

:func:`load` takes a name (the newest version unless ``version=`` is given) or the path of
an artefact folder, and checks the weights' sha256 before building the network.
"""

from __future__ import annotations

import copy
import json
import shutil
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from marsgis.data import DATA_DIR, sha256_file
from marsgis.exceptions import (
    DatabaseError,
    DataNotFoundError,
    DataReadError,
    DatasetIntegrityError,
    DependencyNotFoundError,
    ValidationError,
)
from marsgis.io.atomic import atomic_path, check_json, write_text

if TYPE_CHECKING:
    from marsgis.db import DatabaseLike
    from marsgis.ml.classifier import Classifier
    from marsgis.ml.train import TrainResult

__all__ = [
    "ARTEFACT_FORMAT",
    "SHIPPED_DIR",
    "SHIPPED_MODELS",
    "ModelInfo",
    "build_metadata",
    "default_store",
    "list_models",
    "load",
    "model_info",
    "read_artefact",
    "register_model",
    "save_artefact",
]

#: Format tag written into every ``model.json``.
ARTEFACT_FORMAT = "marsgis-model/1"
#: Folder of the models shipped with the package.
SHIPPED_DIR = DATA_DIR / "models"
#: Shipped models: name → (version, sha256 of ``model.pt``), checked on load.
SHIPPED_MODELS: dict[str, tuple[int, str]] = {
    "terrain-classifier": (1, "f8591c8c6686ba809f531b083ccd0120ef4f384ab96da29fc50306a61a9e1cd7"),
}
WEIGHTS_FILE = "model.pt"
METADATA_FILE = "model.json"


@dataclass(frozen=True)
class ModelInfo:
    """One model version known to the registry.

    Attributes
    ----------
    name, version
        Registry key.
    path
        The artefact folder (``model.pt`` + ``model.json``).
    sha256
        sha256 of ``model.pt``.
    source
        ``"package"`` (shipped with marsgis) or ``"database"`` (registered).
    created_at
        When the artefact was made (UTC).
    metadata, metrics
        The artefact's metadata (without ``metrics``) and its metrics.
    """

    name: str
    version: int
    path: Path
    sha256: str
    source: str
    created_at: datetime | None
    metadata: dict[str, Any]
    metrics: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Summary for listings: keys, path, validation accuracy and balanced accuracy."""
        val = self.metrics.get("validation", {})
        return {
            "name": self.name,
            "version": self.version,
            "source": self.source,
            "path": str(self.path),
            "sha256": self.sha256,
            "created_at": None if self.created_at is None else self.created_at.isoformat(),
            "classes": list(self.metadata.get("classes", [])),
            "input_shape": list(self.metadata.get("input_shape", [])),
            "val_accuracy": val.get("accuracy"),
            "val_balanced_accuracy": val.get("balanced_accuracy"),
        }


def default_store() -> Path:
    """The model store folder: ``<MARSGIS_DATA_DIR or user data dir>/models``."""
    from marsgis.config import settings

    return settings().data_dir / "models"


# --------------------------------------------------------------------------- artefacts


def build_metadata(result: TrainResult, *, tile_size: int = 227) -> dict[str, Any]:
    """Metadata of a training result, ready for :func:`save_artefact` (no name/version yet)."""
    import marsgis
    from marsgis.ml._torch import torch

    cfg = result.config
    return {
        "format": ARTEFACT_FORMAT,
        "name": "unregistered",
        "version": 0,
        "architecture": cfg.architecture,
        "model_kwargs": cfg.model_kwargs(),
        "classes": list(result.metrics.class_names),
        "input_shape": [1, cfg.size, cfg.size],
        "tile_size": tile_size,
        "input": (
            "greyscale in [0, 1] (8-bit / 255), resized to input_shape with antialiased "
            "bilinear resampling, then (x - mean) / std"
        ),
        "normalization": dict(result.normalization),
        "marsgis_version": marsgis.__version__,
        "torch_version": str(torch.__version__),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "training": {
            "data": Path(result.data_root).name,
            "data_hash": result.data_hash,
            "n_images": int(len(result.split.train) + len(result.split.val)),
            "observations": None if result.observations is None else list(result.observations),
            "config": cfg.to_dict(),
            "split": {
                "method": "by HiRISE observation (marsgis.ml.split_by_observation)",
                "seed": result.split.seed,
                "val_fraction": result.split.val_fraction,
                "train_observations": list(result.split.train_observations),
                "val_observations": list(result.split.val_observations),
                "train_counts": list(result.train_counts),
                "val_counts": list(result.val_counts),
            },
            "class_weighting": cfg.class_weighting,
            "class_weights": list(result.class_weights),
            "best_epoch": result.best_epoch,
            "epochs_run": len(result.history),
            "stopped_early": result.stopped_early,
            "seconds": round(result.seconds, 1),
            "history": result.history,
        },
        "metrics": {"validation": result.metrics.to_dict()},
        **(
            {}
            if result.calibration is None
            else {
                "calibration": {**result.calibration.to_dict(), "fitted_on": "validation originals"}
            }
        ),
    }


def save_artefact(classifier: Classifier, folder: str | Path) -> Path:
    """Write ``model.pt`` and ``model.json`` of a classifier into ``folder``; return it.

    The sha256 of the written weights is recorded in ``model.json`` (and in the returned
    classifier's metadata only when it is reloaded).
    """
    from marsgis.ml._torch import torch

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    weights = out / WEIGHTS_FILE
    state = {k: v.detach().cpu().contiguous() for k, v in classifier.model.state_dict().items()}
    with atomic_path(weights) as tmp:
        torch.save(state, tmp)
    meta = classifier.metadata
    meta["format"] = ARTEFACT_FORMAT
    meta["sha256"] = sha256_file(weights)
    text = json.dumps(meta, indent=1, allow_nan=False) + "\n"
    write_text(out / METADATA_FILE, text, check=check_json)
    return out


def read_artefact(folder: str | Path) -> dict[str, Any]:
    """The metadata (``model.json``) of an artefact folder."""
    path = Path(folder)
    if path.is_file():
        path = path.parent
    meta_path = path / METADATA_FILE
    if not meta_path.is_file() or not (path / WEIGHTS_FILE).is_file():
        raise DataNotFoundError(
            f"{str(path)!r} is not a model artefact (needs {WEIGHTS_FILE} and {METADATA_FILE}); "
            "give a folder written by marsgis.ml.save_artefact or `marsgis ml train --out`"
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataReadError(
            f"{str(meta_path)!r} is not valid JSON ({exc}); the artefact is damaged: write it "
            "again with marsgis.ml.save_artefact or `marsgis ml train --out`"
        ) from exc
    if not isinstance(meta, dict) or meta.get("format") != ARTEFACT_FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise ValidationError(
            f"{str(meta_path)!r} has format {found!r}, expected {ARTEFACT_FORMAT!r}"
        )
    return meta


def _load_artefact(
    folder: Path, expected_sha256: str, device: str | None, meta: dict[str, Any] | None = None
) -> Classifier:
    from marsgis.ml._torch import torch
    from marsgis.ml.classifier import Classifier
    from marsgis.ml.models import build_model

    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise DataNotFoundError(
            f"model weights {str(weights)!r} are missing; re-register the model or reinstall marsgis"
        )
    actual = sha256_file(weights)
    if actual != expected_sha256:
        raise DatasetIntegrityError(
            f"model weights {str(weights)!r} have sha256 {actual}, expected {expected_sha256}; "
            "the file is damaged or was replaced: restore it (reinstall marsgis for shipped "
            "models, re-register otherwise)"
        )
    meta = read_artefact(folder) if meta is None else meta
    model = build_model(meta["architecture"], **meta["model_kwargs"])
    state = torch.load(weights, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    meta["sha256"] = actual
    meta["path"] = str(folder)
    return Classifier(model, meta, device=device)


# --------------------------------------------------------------------------- registry


def _shipped_info(name: str) -> ModelInfo:
    version, sha = SHIPPED_MODELS[name]
    folder = SHIPPED_DIR / name / str(version)
    meta = read_artefact(folder)
    metrics = meta.pop("metrics", {})
    created = meta.get("created_at")
    return ModelInfo(
        name=name,
        version=version,
        path=folder,
        sha256=sha,
        source="package",
        created_at=None if created is None else datetime.fromisoformat(created),
        metadata=meta,
        metrics=metrics,
    )


def _db_rows(db: DatabaseLike, name: str | None = None) -> list[ModelInfo]:
    from marsgis.db import models

    return [
        ModelInfo(
            name=record.name,
            version=record.version,
            path=record.path,
            sha256=record.sha256,
            source="database",
            created_at=record.created_at,
            metadata=record.metadata,
            metrics=record.metrics,
        )
        for record in models.model_records(name, db=db)
    ]


def list_models(db: DatabaseLike = None, *, name: str | None = None) -> list[ModelInfo]:
    """Every model version: the shipped ones and those registered in the database.

    Parameters
    ----------
    db
        Database URL, engine, or None for the configured one.
    name
        Only versions of this model.
    """
    shipped = [_shipped_info(n) for n in sorted(SHIPPED_MODELS) if name in (None, n)]
    return sorted(shipped + _db_rows(db, name), key=lambda m: (m.name, m.version))


def model_info(name: str, version: int | None = None, *, db: DatabaseLike = None) -> ModelInfo:
    """The registry entry of ``name`` (newest version, or ``version``).

    If the database cannot be opened — unreachable, or SpatiaLite (or the database driver)
    missing — shipped models are still found (with a warning naming the reason).
    """
    try:
        candidates = list_models(db, name=name)
    except (DatabaseError, DependencyNotFoundError) as exc:
        if name not in SHIPPED_MODELS:
            raise
        warnings.warn(
            f"model registry database unavailable ({exc}); using the shipped {name!r}",
            RuntimeWarning,
            stacklevel=2,
        )
        candidates = [_shipped_info(name)]
    if not candidates:
        known = sorted({m.name for m in _safe_list(db)})
        raise DataNotFoundError(
            f"no model named {name!r}; known models: {known}. Register one with "
            "marsgis.ml.register_model or `marsgis ml train --name NAME`, or pass the path "
            "of an artefact folder"
        )
    if version is None:
        return candidates[-1]
    for info in candidates:
        if info.version == version:
            return info
    raise DataNotFoundError(
        f"model {name!r} has no version {version!r}; versions: {[m.version for m in candidates]}"
    )


def _safe_list(db: DatabaseLike) -> list[ModelInfo]:
    try:
        return list_models(db)
    except (DatabaseError, DependencyNotFoundError):
        return [_shipped_info(n) for n in SHIPPED_MODELS]


def load(
    model: str | Path = "terrain-classifier",
    *,
    version: int | None = None,
    db: DatabaseLike = None,
    device: str | None = None,
) -> Classifier:
    """Load a classifier by registry name or from an artefact folder.

    Parameters
    ----------
    model
        A registry name (``"terrain-classifier"``, shipped with marsgis, or one registered
        with :func:`register_model`), or the path of an artefact folder (``model.pt`` +
        ``model.json``, e.g. ``<out>/model`` of ``marsgis ml train``).
    version
        Registry version (default: the newest).
    db
        Database URL or engine of the registry (default: the configured one).
    device
        ``"cpu"``, ``"cuda"``, or None for CUDA when present.

    Returns
    -------
    Classifier
        Ready for :meth:`~marsgis.ml.Classifier.predict` and :func:`marsgis.ml.classify_raster`.

    Raises
    ------
    DatasetIntegrityError
        The weights' sha256 differs from the recorded one.
    DataNotFoundError
        No such model, version or folder.
    """
    path = Path(model)
    as_path = isinstance(model, Path) or "/" in str(model) or "\\" in str(model)
    if as_path or (path / METADATA_FILE).is_file() or path.suffix in {".pt", ".json"}:
        folder = path.parent if path.is_file() else path
        meta = read_artefact(folder)
        if "sha256" not in meta:
            raise ValidationError(f"{str(folder / METADATA_FILE)!r} records no sha256")
        return _load_artefact(folder, meta["sha256"], device, meta)
    info = model_info(str(model), version, db=db)
    meta = read_artefact(info.path)
    meta.update({"name": info.name, "version": info.version})
    return _load_artefact(info.path, info.sha256, device, meta)


def register_model(
    source: Classifier | str | Path,
    name: str,
    *,
    db: DatabaseLike = None,
    store: str | Path | None = None,
) -> ModelInfo:
    """Copy a model into the store as the next version of ``name`` and list it in the database.

    Parameters
    ----------
    source
        A :class:`~marsgis.ml.Classifier` (e.g. ``TrainResult.classifier()``) or an artefact
        folder.
    name
        Registry name (letters, digits, ``-``, ``_``, ``.``).
    db
        Database URL or engine (default: the configured one).
    store
        Store folder (default: :func:`default_store`).

    Returns
    -------
    ModelInfo
        The new entry; its ``version`` is one more than the newest existing version of
        ``name`` (shipped or registered).
    """
    from marsgis.db import models, transaction

    if not name or not all(ch.isalnum() or ch in "-_." for ch in name) or name[0] == ".":
        raise ValidationError(
            f"model name {name!r} must be letters, digits, '-', '_' or '.', e.g. 'crater-cnn'"
        )
    root = Path(store) if store is not None else default_store()
    with transaction(db, write=True) as conn:
        newest = models.newest_version(name, db=conn)
        version = max(newest or 0, SHIPPED_MODELS.get(name, (0, ""))[0]) + 1
        folder = root / name / str(version)
        if folder.exists():
            raise ValidationError(
                f"store folder {str(folder)!r} exists but is not registered; remove it or use "
                "another store"
            )
        _write_version(source, folder, name, version)
        try:
            meta = read_artefact(folder)
            metrics = meta.pop("metrics", {})
            record = models.add_model(
                name=name,
                version=version,
                path=folder.resolve(),
                sha256=meta["sha256"],
                metadata=meta,
                metrics=metrics,
                created_at=datetime.now(UTC),
                db=conn,
            )
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
    return ModelInfo(
        record.name,
        record.version,
        record.path,
        record.sha256,
        "database",
        record.created_at,
        meta,
        metrics,
    )


def _write_version(source: Classifier | str | Path, folder: Path, name: str, version: int) -> None:
    from marsgis.ml.classifier import Classifier

    if isinstance(source, Classifier):
        save_artefact(source, folder)
    else:
        src = Path(source)
        src = src.parent if src.is_file() else src
        read_artefact(src)  # validates
        folder.mkdir(parents=True)
        shutil.copy2(src / WEIGHTS_FILE, folder / WEIGHTS_FILE)
        shutil.copy2(src / METADATA_FILE, folder / METADATA_FILE)
    meta = json.loads((folder / METADATA_FILE).read_text())
    meta.update({"name": name, "version": version, "sha256": sha256_file(folder / WEIGHTS_FILE)})
    meta.pop("path", None)
    write_text(
        folder / METADATA_FILE, json.dumps(copy.deepcopy(meta), indent=1) + "\n", check=check_json
    )
