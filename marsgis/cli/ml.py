"""``marsgis ml``: train, evaluate and run the terrain classifier; list the model registry.

Examples
--------
::

    marsgis ml classify crop1.jpg crop2.jpg --json
    marsgis ml evaluate --data marsgis/data/hirise-landmarks-v3-subset --json
    marsgis ml evaluate --cv 5 --out runs/cv --json      # grouped 5-fold CV, ~15 min
    marsgis ml train --data marsgis/data/hirise-landmarks-v3-subset --out runs/tc --epochs 40
    marsgis ml train --data DIR --out runs/mine --name my-classifier   # and register it
    marsgis ml models --json
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from marsgis.cli._common import emit, handle_errors, json_option
from marsgis.exceptions import ValidationError

__all__ = ["command"]

_MODEL_HELP = "Registry name or artefact folder of the model."
_data_option = click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Landmark folder with images/ and labels.txt (default: the shipped HiRISE subset).",
)


def _metrics_text(result: dict[str, Any]) -> str:
    lines = [
        f"model: {result.get('model')} v{result.get('model_version')}",
        f"data: {result.get('data')} ({result.get('split')} split, {result['n']} images)",
        f"accuracy: {result['accuracy']:.3f}  balanced accuracy: {result['balanced_accuracy']:.3f}"
        f"  majority-class baseline: {result['majority_baseline_accuracy']:.3f}",
        f"{'class':<14} {'n':>5} {'recall':>7} {'precision':>9}",
    ]
    for name, row in result["per_class"].items():
        rec = "-" if row["recall"] is None else f"{row['recall']:.2f}"
        prec = "-" if row["precision"] is None else f"{row['precision']:.2f}"
        lines.append(f"{name:<14} {row['support']:>5} {rec:>7} {prec:>9}")
    lines.append("confusion matrix (rows: true, columns: predicted):")
    lines += ["  " + " ".join(f"{v:4d}" for v in row) for row in result["confusion_matrix"]]
    return "\n".join(lines)


@click.group("ml")
def command() -> None:
    """Train, evaluate and run the terrain classifier (PyTorch)."""


@command.command("train")
@_data_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Run folder: checkpoints, history.jsonl and the model artefact (OUT/model).",
)
@click.option(
    "--epochs", type=int, default=None, help="Maximum epochs (default: the shipped run's)."
)
@click.option("--size", type=int, default=None, help="Network input side in pixels.")
@click.option(
    "--seed", type=int, default=None, help="Seed of split, init, shuffling, augmentation."
)
@click.option("--resume", is_flag=True, help="Continue from OUT/last.pt.")
@click.option("--name", default=None, help="Also register the model under this name.")
@json_option
@handle_errors
def train(
    *,
    data: Path | None,
    out: Path,
    epochs: int | None,
    size: int | None,
    seed: int | None,
    resume: bool,
    name: str | None,
    as_json: bool,
) -> None:
    """Train a classifier with an observation-held-out validation split."""
    from dataclasses import replace

    from marsgis.ml.registry import register_model
    from marsgis.ml.train import TrainConfig, fit

    cfg = TrainConfig()
    changes: dict[str, Any] = {
        k: v for k, v in (("epochs", epochs), ("size", size), ("seed", seed)) if v is not None
    }
    cfg = replace(cfg, **changes)
    result = fit(data, out, cfg, resume=resume, progress=not as_json)
    summary: dict[str, Any] = {
        "out": str(out),
        "model": str(out / "model"),
        "epochs_run": len(result.history),
        "best_epoch": result.best_epoch,
        "stopped_early": result.stopped_early,
        "seconds": round(result.seconds, 1),
        "train_images": len(result.split.train),
        "val_images": len(result.split.val),
        "val_observations": len(result.split.val_observations),
        "validation": result.metrics.to_dict(),
    }
    if name is not None:
        info = register_model(out / "model", name)
        summary["registered"] = {"name": info.name, "version": info.version, "path": info.path}

    def text(s: dict[str, Any]) -> str:
        v = s["validation"]
        head = (
            f"trained {s['epochs_run']} epochs in {s['seconds']} s (best epoch {s['best_epoch']}); "
            f"model: {s['model']}"
        )
        if "registered" in s:
            head += f"\nregistered as {s['registered']['name']} v{s['registered']['version']}"
        return (
            head
            + "\n"
            + _metrics_text(
                {
                    **v,
                    "model": "trained",
                    "model_version": 0,
                    "data": s["out"],
                    "split": "validation",
                }
            )
        )

    emit(summary, as_json, text)


@command.command("classify")
@click.argument("images", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--model", default="terrain-classifier", show_default=True, help=_MODEL_HELP)
@click.option("--batch-size", type=int, default=64, show_default=True, help="Images per batch.")
@click.option("--tta", is_flag=True, help="Average over the eight rotations/flips of each image.")
@json_option
@handle_errors
def classify(
    *, images: tuple[Path, ...], model: str, batch_size: int, tta: bool, as_json: bool
) -> None:
    """Classify image files; prints path, class and its (calibrated) probability for each.

    With --json each record also holds "probabilities": the calibrated probability of every
    class.
    """
    from marsgis.ml.registry import load

    if batch_size < 1:
        raise ValidationError(f"--batch-size {batch_size} must be a positive integer")
    clf = load(model)
    pred = clf.predict(list(images), batch_size=batch_size, tta=tta)
    records = pred.to_records([str(p) for p in images], vector=True)

    def text(rs: list[dict[str, Any]]) -> str:
        return "\n".join(f"{r['path']}\t{r['class']}\t{r['probability']:.3f}" for r in rs)

    emit(records, as_json, text)


def _cv_text(result: dict[str, Any]) -> str:
    head = (
        f"grouped {result['k']}-fold cross-validation over HiRISE observations "
        f"({result['folds_done']} folds), held-out originals only"
    )
    lines = [
        head,
        f"{'decision rule':<16} {'accuracy':>13} {'baseline':>9} {'balanced':>13} "
        f"{'macro-F1':>13} {'false lmk':>13} {'ECE':>13}",
    ]
    for name, s in result["summaries"].items():
        ms = s["mean_sd"]

        def cell(key: str, ms: dict[str, Any] = ms) -> str:
            m, sd = ms[key]["mean"], ms[key]["sd"]
            return "-" if m is None else f"{m:.3f}±{0.0 if sd is None else sd:.3f}"

        lines.append(
            f"{name:<16} {cell('accuracy'):>13} {ms['majority_baseline']['mean']:>9.3f} "
            f"{cell('balanced_accuracy'):>13} {cell('macro_f1'):>13} "
            f"{cell('false_landmark_rate'):>13} {cell('ece'):>13}"
        )
    shown = result["summaries"].get("calibrated")
    if shown is not None:
        lines.append("gates (calibrated, pooled over the folds):")
        for gate, g in shown["gates"].items():
            value = "-" if g["value"] is None else f"{g['value']:.3f}"
            sign = "<=" if g.get("at_most") else ">="
            verdict = "pass" if g["passed"] else "FAIL"
            lines.append(f"  {gate:<22} {value:>6} {sign} {g['threshold']:.3f}  {verdict}")
    return "\n".join(lines)


@command.command("evaluate")
@_data_option
@click.option("--model", default="terrain-classifier", show_default=True, help=_MODEL_HELP)
@click.option(
    "--split",
    type=click.Choice(["auto", "validation", "all"]),
    default="auto",
    show_default=True,
    help="validation: the model's held-out observations; auto: validation on its training data.",
)
@click.option(
    "--cv",
    "folds",
    type=int,
    default=None,
    help="Instead: grouped K-fold cross-validation over observations (trains K models).",
)
@click.option("--epochs", type=int, default=None, help="With --cv: maximum epochs per model.")
@click.option("--seed", type=int, default=None, help="With --cv: seed of folds and training.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="With --cv: keep the fold runs and OUT/cv.json (logits of every held-out crop).",
)
@click.option("--resume", is_flag=True, help="With --cv --out: reuse the folds in OUT/cv.json.")
@json_option
@handle_errors
def evaluate(
    *,
    data: Path | None,
    model: str,
    split: str,
    folds: int | None,
    epochs: int | None,
    seed: int | None,
    out: Path | None,
    resume: bool,
    as_json: bool,
) -> None:
    """Accuracy, balanced accuracy, per-class precision/recall and the confusion matrix.

    With --cv K: trains the shipped configuration K times, each time holding out one fold of
    whole HiRISE observations, and reports mean ± sd over the folds (accuracy, balanced
    accuracy, macro-F1, false-landmark rate on "other", ECE, majority baseline) for each
    decision rule (raw network, prior-corrected, calibrated, each with and without TTA), the
    pooled confusion matrices and the gates of issue #16.
    """
    if folds is None:
        from marsgis.ml.evaluation import evaluate as run

        for flag, value in (("--epochs", epochs), ("--seed", seed), ("--out", out)):
            if value is not None:
                raise ValidationError(f"{flag} applies to --cv only; add --cv K (e.g. --cv 5)")
        result = run(model, data, split=split).to_dict()
        emit(result, as_json, _metrics_text)
        return
    from dataclasses import replace

    from marsgis.ml.evaluation import cross_validate
    from marsgis.ml.train import TrainConfig

    if resume and out is None:
        raise ValidationError("--resume needs --out DIR (the folder of the earlier run)")
    cfg = TrainConfig()
    if epochs is not None:
        cfg = replace(cfg, epochs=epochs)
    if seed is not None:
        cfg = replace(cfg, seed=seed)
    cv = cross_validate(
        cfg,
        folds,
        data,
        seed=cfg.seed,
        out_dir=out,
        resume=resume,
        progress=not as_json,
    )
    doc = cv.to_dict(logits=False)
    emit(doc, as_json, _cv_text)


@command.command("models")
@json_option
@handle_errors
def models(*, as_json: bool) -> None:
    """List the model registry: shipped models and those registered in the database."""
    from marsgis.ml.registry import list_models

    rows = [m.to_dict() for m in list_models()]

    def text(rs: list[dict[str, Any]]) -> str:
        return "\n".join(
            f"{r['name']}  v{r['version']}  {r['source']:<8}  "
            f"val acc {r['val_accuracy'] if r['val_accuracy'] is None else round(r['val_accuracy'], 3)}"
            f"  {r['path']}"
            for r in rs
        )

    emit(rows, as_json, text)
