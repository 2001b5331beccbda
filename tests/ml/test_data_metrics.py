"""The shipped HiRISE landmark data, the observation split, the metrics and the augmentations."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from marsgis.exceptions import DataNotFoundError, ValidationError
from marsgis.ml import CLASS_NAMES, HiRISELandmarks, classification_metrics, split_by_observation
from marsgis.ml.datasets import HIRISE_LANDMARKS_DIR, data_hash, parse_filename, read_labels
from marsgis.ml.metrics import format_confusion
from marsgis.ml.train import class_weights
from marsgis.ml.transforms import augment_batch

# ----------------------------------------------------------------------------- data


def test_shipped_files_match_provenance_sha256() -> None:
    provenance = (HIRISE_LANDMARKS_DIR / "PROVENANCE.md").read_text()
    table = dict(re.findall(r"\| `([\w.-]+)` \|.*\| `([0-9a-f]{64})` \|", provenance))
    assert set(table) == {
        "labels.txt",
        "landmarks_map-proj-v3_classmap.csv",
        "DATASET_README.txt",
        "SHA256SUMS-images.txt",
    }
    for name, digest in table.items():
        assert hashlib.sha256((HIRISE_LANDMARKS_DIR / name).read_bytes()).hexdigest() == digest
    sums = (HIRISE_LANDMARKS_DIR / "SHA256SUMS-images.txt").read_text().split("\n")
    pairs = [line.split() for line in sums if line.strip()]
    assert len(pairs) == 1787
    for digest, name in pairs[::50]:  # every 50th image (all of them: `sha256sum -c`)
        assert (
            hashlib.sha256((HIRISE_LANDMARKS_DIR / "images" / name).read_bytes()).hexdigest()
            == digest
        )


def test_labels_and_class_map() -> None:
    records = read_labels()
    assert len(records) == 1787
    csv = (HIRISE_LANDMARKS_DIR / "landmarks_map-proj-v3_classmap.csv").read_text().splitlines()
    assert tuple(line.split(",", 1)[1] for line in csv) == CLASS_NAMES
    counts = np.bincount([r.label for r in records], minlength=8)
    # PROVENANCE.md: originals + augmented per class in this folder
    assert counts.tolist() == [771, 56 + 343, 7 + 102, 28 + 151, 20 + 165, 2 + 8, 20 + 76, 9 + 29]
    assert len({r.observation for r in records}) == 129


def test_parse_filename() -> None:
    assert parse_filename("ESP_011289_1950_RED-0208-r270.jpg") == (
        "ESP_011289_1950_RED",
        "0208",
        "r270",
    )
    assert parse_filename("PSP_003470_0930_RED-0001.jpg") == ("PSP_003470_0930_RED", "0001", None)
    with pytest.raises(ValidationError, match="'crater.png'"):
        parse_filename("crater.png")
    with pytest.raises(ValidationError, match="unknown augmentation suffix 'zz'"):
        parse_filename("ESP_011289_1950_RED-0208-zz.jpg")


def test_dataset_samples_are_dicts_of_the_right_image() -> None:
    ds = HiRISELandmarks(size=None, cache=False)
    sample = ds[5]
    assert set(sample) == {"image", "label", "observation", "landmark", "path"}
    rec = ds.records[5]
    assert sample["observation"] == rec.observation
    assert int(sample["label"]) == rec.label
    assert sample["image"].shape == (1, 227, 227)
    from PIL import Image

    ref = np.asarray(Image.open(sample["path"]), dtype=np.float32) / 255.0
    np.testing.assert_array_equal(sample["image"][0].numpy(), ref)


def test_missing_folder_says_what_to_pass(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="does not exist"):
        HiRISELandmarks(tmp_path / "nowhere")
    (tmp_path / "x").mkdir()
    with pytest.raises(DataNotFoundError, match=r"labels\.txt"):
        read_labels(tmp_path / "x")


def test_data_hash_changes_with_a_label(tmp_path: Path, subset_dir: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(subset_dir, copy)
    assert data_hash(copy) == data_hash(subset_dir)
    lines = (copy / "labels.txt").read_text().splitlines()
    name, label = lines[0].split()
    lines[0] = f"{name} {(int(label) + 1) % 8}"
    (copy / "labels.txt").write_text("\n".join(lines) + "\n")
    assert data_hash(copy) != data_hash(subset_dir)


# ----------------------------------------------------------------------------- split


def test_split_never_separates_an_observation() -> None:
    records = read_labels()
    obs = [r.observation for r in records]
    labels = [r.label for r in records]
    split = split_by_observation(obs, labels, landmarks=[r.landmark for r in records], seed=0)
    train_obs = {obs[i] for i in split.train}
    val_obs = {obs[i] for i in split.val}
    assert train_obs.isdisjoint(val_obs)
    assert train_obs == set(split.train_observations)
    assert val_obs == set(split.val_observations)
    # every file on one side, and augmented variants with their original landmark
    assert sorted(np.concatenate([split.train, split.val]).tolist()) == list(range(len(records)))
    val_landmarks = {records[i].landmark for i in split.val}
    assert val_landmarks.isdisjoint({records[i].landmark for i in split.train})
    # about 20 % of the landmarks of each well-represented class is in validation
    for k in range(8):
        lmk_all = {r.landmark for r in records if r.label == k}
        lmk_val = {records[i].landmark for i in split.val if records[i].label == k}
        if len({r.observation for r in records if r.label == k}) >= 5:
            assert 0.1 <= len(lmk_val) / len(lmk_all) <= 0.35, CLASS_NAMES[k]
    again = split_by_observation(obs, labels, landmarks=[r.landmark for r in records], seed=0)
    np.testing.assert_array_equal(again.val, split.val)


def test_split_rejects_bad_input() -> None:
    with pytest.raises(ValidationError, match="val_fraction=1.5"):
        split_by_observation(["a", "b"], [0, 1], val_fraction=1.5)
    with pytest.raises(ValidationError, match="only 1 observation"):
        split_by_observation(["a", "a"], [0, 1])


# ----------------------------------------------------------------------------- metrics


def _reference(y_true: list[int], y_pred: list[int], k: int) -> dict[str, object]:
    """Metrics by explicit loops (scikit-learn's definitions)."""
    cm = [[0] * k for _ in range(k)]
    for t, p in zip(y_true, y_pred, strict=True):
        cm[t][p] += 1
    recall, precision = [], []
    for c in range(k):
        tp = cm[c][c]
        support = sum(cm[c])
        predicted = sum(cm[r][c] for r in range(k))
        recall.append(tp / support if support else float("nan"))
        precision.append(tp / predicted if predicted else float("nan"))
    present = [c for c in range(k) if sum(cm[c])]
    return {
        "cm": cm,
        "accuracy": sum(cm[c][c] for c in range(k)) / len(y_true),
        "balanced": sum(recall[c] for c in present) / len(present),
        "recall": recall,
        "precision": precision,
    }


def test_metrics_match_loop_reference() -> None:
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 7, 500).tolist()  # class 7 absent from y_true
    y_pred = [t if rng.random() < 0.6 else int(rng.integers(0, 6)) for t in y_true]
    m = classification_metrics(y_true, y_pred, CLASS_NAMES)
    ref = _reference(y_true, y_pred, 8)
    assert m.confusion.tolist() == ref["cm"]
    assert m.accuracy == pytest.approx(ref["accuracy"], abs=1e-12)
    assert m.balanced_accuracy == pytest.approx(ref["balanced"], abs=1e-12)
    np.testing.assert_allclose(m.recall, ref["recall"], equal_nan=True)
    np.testing.assert_allclose(m.precision, ref["precision"], equal_nan=True)
    assert np.isnan(m.recall[7]) and np.isnan(m.precision[7])  # spider: never true nor predicted
    counts = np.bincount(y_true, minlength=8)
    assert m.majority_baseline() == counts.max() / 500
    d = m.to_dict()
    assert d["per_class"]["spider"] == {"precision": None, "recall": None, "support": 0}
    assert type(m).from_dict(d).confusion.tolist() == ref["cm"]
    table = format_confusion(m)
    assert table.splitlines()[2].startswith(f"| other | {ref['cm'][0][0]} |")


def test_metrics_reject_out_of_range_ids() -> None:
    with pytest.raises(ValidationError, match="outside 0..7"):
        classification_metrics([0, 8], [0, 1], CLASS_NAMES)


def test_class_weights_balanced_formula() -> None:
    labels = np.array([0] * 60 + [1] * 30 + [2] * 9 + [3] * 1)
    w = class_weights(labels, 5, weighting="inverse", cap=1000)
    # scikit-learn "balanced": n / (K_present * n_c)
    np.testing.assert_allclose(w[:4], [100 / (4 * 60), 100 / (4 * 30), 100 / (4 * 9), 100 / 4])
    assert w[4] == 0
    capped = class_weights(labels, 5, weighting="inverse", cap=20)
    assert capped[3] == pytest.approx(20 * capped[0])
    np.testing.assert_allclose(
        class_weights(labels, 5, weighting="sqrt", cap=1000)[:4], np.sqrt(w[:4])
    )


# ----------------------------------------------------------------------------- augmentation


def test_augmentation_is_a_symmetry_without_photometric_change() -> None:
    x = torch.rand(16, 1, 20, 20)
    g = torch.Generator().manual_seed(1)
    y = augment_batch(x, g, brightness=0.0, contrast=0.0)
    symmetries = []
    for k in range(4):
        r = torch.rot90(x, k, dims=(-2, -1))
        symmetries += [r, torch.flip(r, dims=(-1,))]
    for i in range(16):
        assert any(torch.equal(y[i], s[i]) for s in symmetries)
    assert not torch.equal(y, x)  # something moved
    # reproducible from the generator
    again = augment_batch(x, torch.Generator().manual_seed(1), brightness=0.0, contrast=0.0)
    assert torch.equal(again, y)


def test_augmentation_brightness_stays_in_range_and_keeps_input() -> None:
    x = torch.rand(8, 1, 16, 16)
    before = x.clone()
    y = augment_batch(x, torch.Generator().manual_seed(0), zoom=0.3, invert=0.5)
    assert torch.equal(x, before)
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0
    assert y.shape == x.shape


def test_augmentation_inversion_is_the_photometric_negative() -> None:
    x = torch.rand(6, 1, 12, 12)
    g = torch.Generator().manual_seed(3)
    y = augment_batch(x, g, rotate=False, flip=False, brightness=0, contrast=0, invert=1.0)
    torch.testing.assert_close(y, 1.0 - x)


def test_augmentation_scale_shrinks_features_and_gamma_is_a_power() -> None:
    side = 33
    ramp = torch.linspace(0.0, 1.0, side).expand(side, side)[None, None].repeat(2, 1, 1, 1)
    plain = {"rotate": False, "flip": False, "brightness": 0.0, "contrast": 0.0}
    g = torch.Generator().manual_seed(0)
    shrunk = augment_batch(ramp, g, scale=(0.5, 0.5), **plain)
    # content at half size (a twice wider, mirrored view): the ramp across the centre is
    # twice as steep, the centre value stays
    centre = shrunk[0, 0, side // 2]
    slope = float((centre[side // 2 + 4] - centre[side // 2 - 4]) / 8)
    assert slope == pytest.approx(2.0 / (side - 1), rel=0.02)
    assert float(centre[side // 2]) == pytest.approx(0.5, abs=1e-3)
    # gamma: y = x ** p with one exponent per image, p within [1/1.5, 1.5]
    x = torch.rand(4, 1, 10, 10) * 0.9 + 0.05
    y = augment_batch(x, torch.Generator().manual_seed(2), gamma=0.5, **plain)
    p = torch.log(y) / torch.log(x)
    for i in range(4):
        torch.testing.assert_close(p[i], torch.full_like(p[i], float(p[i].mean())))
        assert 1 / 1.5 - 1e-4 <= float(p[i].mean()) <= 1.5 + 1e-4


def test_gradient_channel_is_the_sobel_magnitude() -> None:
    from scipy import ndimage

    from marsgis.ml.models import _sobel_magnitude

    img = np.random.default_rng(0).random((1, 1, 24, 24)).astype(np.float64)
    got = _sobel_magnitude(torch.from_numpy(img))[0, 0].numpy()
    gx = ndimage.sobel(img[0, 0], axis=1, mode="nearest") / 8
    gy = ndimage.sobel(img[0, 0], axis=0, mode="nearest") / 8
    np.testing.assert_allclose(got, np.hypot(gx, gy), atol=1e-6)


def test_balanced_sampling_draws_classes_equally() -> None:
    from marsgis.ml.train import _epoch_order

    labels = torch.tensor([0] * 900 + [1] * 90 + [2] * 10)
    order = _epoch_order(labels, 3, "balanced", torch.Generator().manual_seed(0))
    share = np.bincount(labels[order].numpy(), minlength=3) / len(order)
    np.testing.assert_allclose(share, 1 / 3, atol=0.05)
    order = _epoch_order(labels, 3, "sqrt", torch.Generator().manual_seed(0))
    share = np.bincount(labels[order].numpy(), minlength=3) / len(order)
    expected = np.sqrt([900, 90, 10]) / np.sqrt([900, 90, 10]).sum()
    np.testing.assert_allclose(share, expected, atol=0.04)
    shuffled = _epoch_order(labels, 3, "shuffle", torch.Generator().manual_seed(0))
    assert sorted(shuffled.tolist()) == list(range(1000))
