"""Tables and the reliability diagram of a grouped cross-validation (docs/ml.md, issue #16).

    python scripts/ml_cv_report.py runs/cv-shipped/cv.json [--record PATH] [--png PATH]

Prints Markdown tables (decision rules, gates, per-class recall/precision, the pooled confusion
matrix of the calibrated rule, per-observation prior adaptation, landmark-vs-other ROC, the
best per-class threshold rule chosen on the held-out labels), writes the reliability diagram
(raw vs calibrated, pooled over the folds) and, with ``--record``, copies the CV (with the
held-out logits, from which every number can be recomputed) to PATH.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np

from marsgis.ml.evaluation import VARIANTS, CrossValidation
from marsgis.ml.metrics import classification_metrics, format_confusion


def _ms(s: dict, key: str) -> str:
    m, sd = s["mean_sd"][key]["mean"], s["mean_sd"][key]["sd"]
    return "–" if m is None else f"{m:.3f} ± {0.0 if sd is None else sd:.3f}"


def tables(cv: CrossValidation) -> str:
    out = [
        f"{len(cv.folds)} of {cv.k} folds, {sum(len(f.labels) for f in cv.folds)} held-out originals",
        "",
        "| decision rule | accuracy | majority baseline | balanced acc. | macro-F1 "
        "| false-landmark rate | ECE | pooled acc. | pooled bal. acc. | pooled FLR | pooled ECE |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for v in VARIANTS:
        s = cv.summary(v)
        p = s["pooled"]
        out.append(
            f"| {v} | {_ms(s, 'accuracy')} | {_ms(s, 'majority_baseline')} | "
            f"{_ms(s, 'balanced_accuracy')} | {_ms(s, 'macro_f1')} | "
            f"{_ms(s, 'false_landmark_rate')} | {_ms(s, 'ece')} | {p['accuracy']:.3f} | "
            f"{p['balanced_accuracy']:.3f} | {p['false_landmark_rate']:.3f} | {p['ece']:.3f} |"
        )
    out += ["", "| gate | " + " | ".join(VARIANTS) + " |", "|---|" + "---:|" * len(VARIANTS)]
    gates = {v: cv.summary(v)["gates"] for v in VARIANTS}
    for g, first in gates["calibrated"].items():
        sign = "≤" if first.get("at_most") else "≥"
        cells = []
        for v in VARIANTS:
            x = gates[v][g]
            val = "–" if x["value"] is None else f"{x['value']:.3f}"
            cells.append(f"{val} {'✓' if x['passed'] else '✗'}")
        thr = "baseline + 0.03" if g == "accuracy" else f"{first['threshold']:.2f}"
        out.append(f"| {g} ({sign} {thr}) | " + " | ".join(cells) + " |")
    out += [
        "",
        "| class | originals | observations | recall raw | recall calibrated "
        "| precision raw | precision calibrated |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    raw, cal = cv.summary("raw")["per_class"], cv.summary("calibrated")["per_class"]
    for name in cv.class_names:
        r, c = raw[name], cal[name]

        def f(x: float | None) -> str:
            return "–" if x is None else f"{x:.2f}"

        out.append(
            f"| {name} | {r['support']} | {r['observations']} | {f(r['pooled_recall'])} | "
            f"{f(c['pooled_recall'])} | {f(r['pooled_precision'])} | {f(c['pooled_precision'])} |"
        )
    for v in ("raw", "calibrated"):
        y = np.concatenate([f.labels for f in cv.folds])
        p = np.concatenate([f.probabilities(v).argmax(1) for f in cv.folds])
        out += [
            "",
            f"Pooled confusion matrix, {v}:",
            "",
            format_confusion(classification_metrics(y, p, cv.class_names)),
        ]
    out += [
        "",
        "Operating points: the fold's temperature, prior-correction strength τ varied "
        "(descriptive, not a selection):",
        "",
        "| τ | accuracy | balanced acc. | false-landmark rate | "
        + " | ".join(f"recall {n}" for n in cv.class_names[1:5])
        + " | recall swiss cheese |",
        "|---:|---:|---:|---:|" + "---:|" * 5,
    ]
    y = np.concatenate([f.labels for f in cv.folds])
    for tau in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0):
        p = np.concatenate(
            [
                (
                    f.logits / f.calibration.temperature
                    + tau * np.asarray(f.calibration.adjustment)
                ).argmax(1)
                for f in cv.folds
            ]
        )
        m = classification_metrics(y, p, cv.class_names)
        rec = [m.recall[c] for c in (1, 2, 3, 4, 6)]
        out.append(
            f"| {tau:.2f} | {m.accuracy:.3f} | {m.balanced_accuracy:.3f} | "
            f"{1 - m.recall[0]:.3f} | " + " | ".join(f"{r:.2f}" for r in rec) + " |"
        )
    out += [
        "",
        "| fold | held-out observations | originals | best / last epoch | s | T | τ |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for f in cv.folds:
        c = f.calibration
        out.append(
            f"| {f.index} | {len(f.test_observations)} | {len(f.labels)} | "
            f"{f.best_epoch} / {f.epochs_run} | {f.seconds:.0f} | {c.temperature:.2f} | "
            f"{c.strength:.2f} |"
        )
    return "\n".join(out)


def _adapt_prior(p: np.ndarray, prior: np.ndarray, alpha: float, iters: int = 500) -> np.ndarray:
    """Saerens-Latinne-Decaestecker EM: move ``p`` (posteriors under ``prior``) to the class mix
    of this set of crops, with a Dirichlet(``alpha`` · ``prior``) MAP prior on that mix."""
    w = prior.copy()
    for _ in range(iters):
        q = p * (w / prior)
        q /= q.sum(axis=1, keepdims=True)
        new = (q.sum(axis=0) + alpha * prior) / (len(p) + alpha)
        done = np.abs(new - w).max() < 1e-10
        w = new
        if done:
            break
    q = p * (w / prior)
    return q / q.sum(axis=1, keepdims=True)


def label_shift_table(cv: CrossValidation) -> str:
    """Per-observation prior adaptation of the calibrated probabilities (not shipped: measured).

    Each held-out observation's crops are adapted together to that observation's own class
    mix, estimated by EM; ``alpha`` is the weight (in crops) of the natural mix of the
    training folds' originals as the MAP prior of that estimate.
    """
    out = [
        "| rule | α | accuracy | balanced acc. | false-landmark rate | ECE | "
        + " | ".join(f"recall {n}" for n in cv.class_names[1:5])
        + " | recall swiss cheese |",
        "|---|---:|---:|---:|---:|---:|" + "---:|" * 5,
    ]
    k = len(cv.class_names)
    for variant in ("calibrated", "calibrated+tta"):
        for alpha in (None, 1000.0, 300.0, 100.0, 30.0, 10.0, 3.0):
            ys, ps = [], []
            for f in cv.folds:
                train = np.concatenate([g.labels for g in cv.folds if g is not f])
                prior = (np.bincount(train, minlength=k) + 0.5) / (len(train) + 0.5 * k)
                p = f.probabilities(variant)
                if alpha is not None:
                    obs = np.asarray(f.observations)
                    p = p.copy()
                    for o in np.unique(obs):
                        m = obs == o
                        p[m] = _adapt_prior(p[m], prior, alpha)
                ys.append(f.labels)
                ps.append(p)
            y, p = np.concatenate(ys), np.concatenate(ps)
            m = classification_metrics(y, p.argmax(axis=1), cv.class_names)
            conf = p.max(axis=1)
            bins = np.minimum((conf * 15).astype(int), 14)
            hit = p.argmax(axis=1) == y
            ece = sum(
                (bins == b).mean() * abs(hit[bins == b].mean() - conf[bins == b].mean())
                for b in range(15)
                if (bins == b).any()
            )
            rec = [m.recall[c] for c in (1, 2, 3, 4, 6)]
            out.append(
                f"| {variant} | {'none' if alpha is None else f'{alpha:.0f}'} | "
                f"{m.accuracy:.3f} | {m.balanced_accuracy:.3f} | {1 - m.recall[0]:.3f} | "
                f"{ece:.3f} | " + " | ".join(f"{r:.2f}" for r in rec) + " |"
            )
    return "\n".join(out)


def _roc(scores: np.ndarray, positive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates of every threshold on ``scores`` (ties broken together)."""
    order = np.argsort(-scores, kind="stable")
    s, pos = scores[order], positive[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # the end of each run of equal scores
    tp, fp = np.cumsum(pos)[last], np.cumsum(~pos)[last]
    return np.r_[0.0, fp / max(fp[-1], 1)], np.r_[0.0, tp / max(tp[-1], 1)]


def detection_table(cv: CrossValidation) -> str:
    """How well the raw network tells landmarks from plain terrain, whatever the decision rule.

    Score: 1 − p(other) of the raw softmax (one-vs-other: the logit margin over "other"),
    pooled over the held-out originals. AUROC by the trapezoid rule; the detection rate
    (TPR) read at a false-landmark rate (FPR) by linear interpolation of the ROC curve.
    """
    out = [
        "| logits | crops | AUROC | landmarks found at FLR 0.05 | at FLR 0.10 | at FLR 0.20 |",
        "|---|---|---:|---:|---:|---:|",
    ]
    y = np.concatenate([f.labels for f in cv.folds])
    for key in ("logits", "logits_tta"):
        z = np.concatenate([getattr(f, key) for f in cv.folds])
        groups = [("every landmark vs other", y != 0, None)]
        groups += [
            (f"{name} vs other", y == c, c)
            for c, name in enumerate(cv.class_names)
            if c > 0 and (y == c).sum() >= 5
        ]
        for label, positive, c in groups:
            keep = (y == 0) | positive
            if c is None:
                p = np.exp(z - z.max(axis=1, keepdims=True))
                score = 1.0 - p[:, 0] / p.sum(axis=1)
            else:
                score = z[:, c] - z[:, 0]
            fpr, tpr = _roc(score[keep], positive[keep])
            auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
            at = [float(np.interp(x, fpr, tpr)) for x in (0.05, 0.10, 0.20)]
            out.append(
                f"| {'TTA' if key == 'logits_tta' else 'plain'} | {label} "
                f"({int(positive.sum())}) | {auc:.3f} | "
                + " | ".join(f"{a:.2f}" for a in at)
                + " |"
            )
    return "\n".join(out)


def oracle_bound(cv: CrossValidation, restarts: int = 30, seed: int = 0) -> str:
    """The best per-class threshold rule a search finds with the held-out labels: an oracle.

    Per-class offsets ``o_c`` added to the raw logits (argmax of ``z + o``: every per-class
    threshold and prior correction is of this form) are chosen *on the held-out originals
    themselves* by coordinate ascent (offsets on a grid of 0.5 from −8 to 8, ``restarts``
    seeded random starts): once for the highest balanced accuracy at a false-landmark rate
    ≤ 0.10, once for the highest accuracy. A rule fitted without the held-out labels can
    only do worse on the same networks (up to what the search misses).
    """
    y = np.concatenate([f.labels for f in cv.folds])
    k = len(cv.class_names)
    grid = np.linspace(-8.0, 8.0, 33)
    rng = np.random.default_rng(seed)
    out = [
        "| logits | objective | accuracy | balanced acc. | false-landmark rate | "
        + " | ".join(f"recall {n}" for n in cv.class_names[1:5])
        + " | recall swiss cheese |",
        "|---|---|---:|---:|---:|" + "---:|" * 5,
    ]
    for key in ("logits", "logits_tta"):
        z = np.concatenate([getattr(f, key) for f in cv.folds])

        def metrics(o: np.ndarray, z: np.ndarray = z) -> tuple[float, float, float, np.ndarray]:
            pred = (z + o).argmax(axis=1)
            rec = np.array(
                [((pred == c) & (y == c)).sum() / max((y == c).sum(), 1) for c in range(k)]
            )
            present = np.array([(y == c).any() for c in range(k)])
            return float((pred == y).mean()), float(rec[present].mean()), 1 - rec[0], rec

        objectives = {
            "balanced acc. at FLR ≤ 0.10": lambda m: m[1] if m[2] <= 0.10 else -1.0,
            "accuracy": lambda m: m[0],
        }
        for name, objective in objectives.items():
            best: tuple[float, tuple[float, float, float, np.ndarray]] | None = None
            for r in range(restarts):
                o = np.zeros(k) if r == 0 else rng.uniform(-4.0, 4.0, k)
                o[0] = 0.0
                for _ in range(6):
                    for c in range(1, k):
                        values = []
                        for g in grid:
                            o[c] = g
                            values.append(objective(metrics(o)))
                        o[c] = grid[int(np.argmax(values))]
                m = metrics(o)
                if best is None or objective(m) > best[0]:
                    best = (objective(m), m)
            assert best is not None
            acc, bal, flr, rec = best[1]
            out.append(
                f"| {'TTA' if key == 'logits_tta' else 'plain'} | {name} | {acc:.3f} | "
                f"{bal:.3f} | {flr:.3f} | "
                + " | ".join(f"{rec[c]:.2f}" for c in (1, 2, 3, 4, 6))
                + " |"
            )
    return "\n".join(out)


def diagram(cv: CrossValidation, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 4.3), sharey=True)
    for ax, v, title in zip(
        axes,
        ("raw", "calibrated"),
        ("raw network (softmax)", "calibrated: z / T + τ b"),
        strict=True,
    ):
        s = cv.summary(v)
        rel = s["reliability"]
        edges = np.asarray(rel["edges"])
        centres = (edges[:-1] + edges[1:]) / 2
        acc = np.asarray(rel["accuracy"], dtype=float)
        conf = np.asarray(rel["confidence"], dtype=float)
        count = np.asarray(rel["count"])
        ok = count > 0
        ax.bar(
            centres[ok],
            acc[ok],
            width=edges[1] - edges[0],
            edgecolor="k",
            alpha=0.7,
            label="accuracy in bin",
        )
        ax.plot(conf[ok], acc[ok], "o", color="C3", ms=3, label="(mean confidence, accuracy)")
        ax.plot([0, 1], [0, 1], "--", color="grey", lw=1)
        for x, n in zip(centres[ok], count[ok], strict=True):
            ax.text(x, 0.02, str(n), ha="center", fontsize=6, rotation=90)
        ax.set_title(
            f"{title}\nECE {s['pooled']['ece']:.3f}, accuracy {s['pooled']['accuracy']:.3f}"
        )
        ax.set_xlabel("top-class probability")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
    axes[0].set_ylabel("share correct")
    axes[0].legend(loc="upper left", fontsize=7)
    fig.suptitle(
        f"Grouped {cv.k}-fold CV over HiRISE observations, {sum(len(f.labels) for f in cv.folds)} "
        "held-out originals (15 bins; counts at the bottom)",
        fontsize=9,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=110)
    tmp.replace(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("cv", type=Path)
    ap.add_argument("--record", type=Path, default=None)
    ap.add_argument("--png", type=Path, default=None)
    args = ap.parse_args()
    cv = CrossValidation.from_dict(json.loads(args.cv.read_text()))
    print(tables(cv))
    print("\nPer-observation prior adaptation (EM), pooled:\n")
    print(label_shift_table(cv))
    print("\nLandmark vs plain terrain, raw network, pooled:\n")
    print(detection_table(cv))
    print("\nUpper bound: per-class offsets chosen on the held-out originals themselves:\n")
    print(oracle_bound(cv))
    if args.png is not None:
        diagram(cv, args.png)
    if args.record is not None:
        tmp = args.record.with_suffix(".tmp")
        shutil.copyfile(args.cv, tmp)
        tmp.replace(args.record)


if __name__ == "__main__":
    main()
