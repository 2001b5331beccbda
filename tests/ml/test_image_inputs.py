"""What ``Classifier.predict`` and ``read_image`` accept, and the errors for what they do not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from marsgis.exceptions import DataNotFoundError, DataReadError, ValidationError
from marsgis.ml.datasets import HIRISE_LANDMARKS_DIR, read_image

CROP = HIRISE_LANDMARKS_DIR / "images" / "ESP_011289_1950_RED-0039.jpg"


def test_pillow_images_are_classified_like_their_files(shipped: Any) -> None:
    by_path = shipped.predict([CROP])
    with Image.open(CROP) as img:
        assert img.mode == "L"
        by_image = shipped.predict(img)  # one image, not a sequence
        # an RGB copy of a greyscale image converts back to the same grey levels (R=G=B)
        by_rgb = shipped.predict([img.convert("RGB"), img])
    np.testing.assert_array_equal(by_image.probabilities, by_path.probabilities)
    # (a batch of two differs from a batch of one in float rounding only)
    np.testing.assert_allclose(by_rgb.probabilities, by_path.probabilities[[0, 0]], atol=1e-6)
    np.testing.assert_array_equal(by_rgb.probabilities[0], by_rgb.probabilities[1])
    # and like the array Pillow decodes, divided by 255
    pixels = np.asarray(Image.open(CROP), dtype=np.float32) / 255.0
    np.testing.assert_array_equal(shipped.predict(pixels).probabilities, by_path.probabilities)


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (5, "cannot classify an object of type 'int': give a path, a Pillow image"),
        ([object()], "image of type object and shape (): expected a path, a Pillow image"),
        (np.zeros((2, 3, 4, 5)), "array of shape (2, 3, 4, 5): expected (H, W) or (N, H, W)"),
    ],
)
def test_other_inputs_are_validation_errors(shipped: Any, images: Any, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        shipped.predict(images)
    assert str(info.value).startswith(message)


def test_unreadable_image_files_name_the_file(tmp_path: Path, shipped: Any) -> None:
    text = tmp_path / "notanimage.jpg"
    text.write_text("hello\n", encoding="utf-8")
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(CROP.read_bytes()[:300])  # the header, then nothing
    for path in (text, truncated):
        with pytest.raises(DataReadError) as info:
            read_image(path)
        assert str(info.value).startswith(f"image {str(path)!r} cannot be read (")
        assert isinstance(info.value, OSError)
        with pytest.raises(DataReadError):
            shipped.predict([CROP, path])
    with pytest.raises(DataNotFoundError, match="does not exist"):
        read_image(tmp_path / "missing.jpg")
    # a whole file still reads: the grey levels Pillow decodes
    np.testing.assert_array_equal(read_image(CROP), np.asarray(Image.open(CROP)))
