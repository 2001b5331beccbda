"""`marsgis ml ...` with --json: classify, evaluate, train (tiny, registered), models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result

import marsgis.ml
from marsgis.cli import main
from marsgis.ml.datasets import HIRISE_LANDMARKS_DIR, read_labels


@pytest.fixture
def cli() -> Any:
    runner = CliRunner()

    def run(*args: str, ok: bool = True) -> Result:
        result = runner.invoke(main, list(args))
        if ok:
            assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
        return result

    return run


def test_classify_json(cli: Any, shipped: Any) -> None:
    paths = [str(HIRISE_LANDMARKS_DIR / "images" / r.filename) for r in read_labels()[100:103]]
    out = json.loads(cli("ml", "classify", *paths, "--json").stdout)
    pred = shipped.predict(paths)
    assert [r["path"] for r in out] == paths
    assert [r["class"] for r in out] == pred.labels
    assert [r["probability"] for r in out] == pytest.approx(pred.confidence.tolist(), abs=1e-6)
    # the full calibrated probability vector, by class name
    for rec, row in zip(out, pred.probabilities, strict=True):
        assert list(rec["probabilities"]) == list(marsgis.ml.CLASS_NAMES)
        assert list(rec["probabilities"].values()) == pytest.approx(row.tolist(), abs=1e-6)
        assert sum(rec["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
        assert rec["probability"] == pytest.approx(max(rec["probabilities"].values()))
    assert set(out[0]) == {"path", "class", "probability", "probabilities"}
    cal = shipped.calibration
    raw = shipped.predict(paths, calibrated=False).probabilities.astype(np.float64)
    z = np.log(raw) / cal.temperature + cal.strength * np.asarray(cal.adjustment)
    ref = np.exp(z - z.max(1, keepdims=True))
    ref /= ref.sum(1, keepdims=True)
    got = np.array([list(r["probabilities"].values()) for r in out])
    np.testing.assert_allclose(got, ref, atol=1e-5)
    tta = json.loads(cli("ml", "classify", *paths, "--tta", "--json").stdout)
    assert [r["probability"] for r in tta] == pytest.approx(
        shipped.predict(paths, tta=True).confidence.tolist(), abs=1e-6
    )
    text = cli("ml", "classify", paths[0]).stdout
    assert text.startswith(f"{paths[0]}\t{pred.labels[0]}\t")


def test_classify_missing_file_is_an_error(cli: Any, tmp_path: Path) -> None:
    bad = cli("ml", "classify", str(tmp_path / "nope.jpg"), "--json", ok=False)
    assert bad.exit_code == 2
    assert "nope.jpg" in bad.stderr and "Traceback" not in bad.stderr


def test_evaluate_json_equals_the_api(cli: Any, subset_dir: Path, shipped: Any) -> None:
    out = json.loads(cli("ml", "evaluate", "--data", str(subset_dir), "--json").stdout)
    ref = marsgis.ml.evaluate(shipped, subset_dir)
    assert out["split"] == "all"  # another folder than the training data: every image
    assert out["n"] == len(read_labels(subset_dir))
    assert out["accuracy"] == pytest.approx(ref.metrics.accuracy)
    assert out["balanced_accuracy"] == pytest.approx(ref.metrics.balanced_accuracy)
    assert out["confusion_matrix"] == ref.metrics.confusion.tolist()
    assert set(out["per_class"]["crater"]) == {"precision", "recall", "support"}


def test_train_register_and_list(cli: Any, subset_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    res = json.loads(
        cli(
            "ml",
            "train",
            "--data",
            str(subset_dir),
            "--out",
            str(out),
            "--epochs",
            "1",
            "--size",
            "32",
            "--name",
            "tiny",
            "--json",
        ).stdout
    )
    assert res["epochs_run"] == 1
    assert res["registered"]["name"] == "tiny" and res["registered"]["version"] == 1
    assert (out / "model" / "model.pt").is_file()
    models = json.loads(cli("ml", "models", "--json").stdout)
    assert [(m["name"], m["version"], m["source"]) for m in models] == [
        ("terrain-classifier", 1, "package"),
        ("tiny", 1, "database"),
    ]
    tiny = next(m for m in models if m["name"] == "tiny")
    assert tiny["input_shape"] == [1, 32, 32]
    assert tiny["val_accuracy"] == pytest.approx(res["validation"]["accuracy"])
    first = read_labels(subset_dir)[0]
    cls = json.loads(
        cli(
            "ml",
            "classify",
            str(subset_dir / "images" / first.filename),
            "--model",
            "tiny",
            "--json",
        ).stdout
    )
    assert cls[0]["class"] in marsgis.ml.CLASS_NAMES
