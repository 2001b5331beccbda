"""Terrain classification with PyTorch: HiRISE landmarks, training, registry, raster inference.

>>> import marsgis, marsgis.ml
>>> from marsgis.data import DATA_DIR
>>> clf = marsgis.ml.load("terrain-classifier")         # shipped, sha256-checked
>>> crop = DATA_DIR / "hirise-landmarks-v3-subset/images/ESP_011289_1950_RED-0039.jpg"
>>> clf.predict([crop]).labels                           # calibrated: at the natural class mix
['other']
>>> clf.predict([crop], calibrated=False).labels        # the network's raw decision
['dark dune']

On a raster (seconds of CPU, so not run here):

>>> image = marsgis.terrain.hillshade(marsgis.open_dem("gale-1m"))  # doctest: +SKIP
>>> out = marsgis.ml.classify_raster(image, clf)        # class + confidence rasters # doctest: +SKIP
>>> hazard = marsgis.ml.class_hazard(out)               # 0–1, for planning          # doctest: +SKIP
>>> route = marsgis.planning.plan_traverse(dem, a, b, cost_factor=marsgis.ml.hazard_factor(hazard))  # doctest: +SKIP

Names are imported on first use (PEP 562), so ``import marsgis.ml`` does not import torch;
the torch-backed names raise :class:`~marsgis.exceptions.DependencyNotFoundError` with the
install line when PyTorch is missing. The hazard functions need only numpy/xarray.
See ``docs/ml.md`` for the data split, the metrics and how to reproduce the shipped model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from marsgis.ml.classifier import Classifier, Prediction, default_device
    from marsgis.ml.datasets import CLASS_NAMES, HiRISELandmarks, data_hash, read_labels
    from marsgis.ml.evaluation import Evaluation, evaluate
    from marsgis.ml.hazard import (
        DEFAULT_CLASS_HAZARD,
        class_hazard,
        combine_hazards,
        hazard_factor,
        terrain_hazard,
    )
    from marsgis.ml.inference import classify_raster
    from marsgis.ml.metrics import ClassificationMetrics, classification_metrics
    from marsgis.ml.models import TerrainCNN, build_model
    from marsgis.ml.registry import (
        ModelInfo,
        list_models,
        load,
        model_info,
        register_model,
        save_artefact,
    )
    from marsgis.ml.splits import Split, split_by_observation
    from marsgis.ml.train import TrainConfig, TrainResult, fit

__all__ = (
    "CLASS_NAMES",
    "DEFAULT_CLASS_HAZARD",
    "ClassificationMetrics",
    "Classifier",
    "Evaluation",
    "HiRISELandmarks",
    "ModelInfo",
    "Prediction",
    "Split",
    "TerrainCNN",
    "TrainConfig",
    "TrainResult",
    "build_model",
    "class_hazard",
    "classification_metrics",
    "classify_raster",
    "combine_hazards",
    "data_hash",
    "default_device",
    "evaluate",
    "fit",
    "hazard_factor",
    "list_models",
    "load",
    "model_info",
    "read_labels",
    "register_model",
    "save_artefact",
    "split_by_observation",
    "terrain_hazard",
)

_LAZY = {
    "Classifier": "classifier",
    "Prediction": "classifier",
    "default_device": "classifier",
    "CLASS_NAMES": "datasets",
    "HiRISELandmarks": "datasets",
    "data_hash": "datasets",
    "read_labels": "datasets",
    "Evaluation": "evaluation",
    "evaluate": "evaluation",
    "DEFAULT_CLASS_HAZARD": "hazard",
    "class_hazard": "hazard",
    "combine_hazards": "hazard",
    "hazard_factor": "hazard",
    "terrain_hazard": "hazard",
    "classify_raster": "inference",
    "ClassificationMetrics": "metrics",
    "classification_metrics": "metrics",
    "TerrainCNN": "models",
    "build_model": "models",
    "ModelInfo": "registry",
    "list_models": "registry",
    "load": "registry",
    "model_info": "registry",
    "register_model": "registry",
    "save_artefact": "registry",
    "Split": "splits",
    "split_by_observation": "splits",
    "TrainConfig": "train",
    "TrainResult": "train",
    "fit": "train",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f"marsgis.ml.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'marsgis.ml' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
