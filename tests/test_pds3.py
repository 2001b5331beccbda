"""PDS3 reader: values equal the raw MOLA grid decoded with numpy and GDAL's reading of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio

import marsgis
from marsgis.crs import crs_code
from marsgis.data import DATA_DIR
from marsgis.exceptions import LabelError
from marsgis.io import pds3

IMG = DATA_DIR / "mola-megdr-4ppd" / "megt90n000cb.img"
LBL = DATA_DIR / "mola-megdr-4ppd" / "megt90n000cb.lbl"


@pytest.fixture(scope="module")
def raw() -> np.ndarray:
    return np.fromfile(IMG, dtype=">i2").reshape(720, 1440)


def test_label_fields_parse() -> None:
    label = pds3.parse_label(LBL.read_text())
    image = label["IMAGE"]
    assert (image["LINES"], image["LINE_SAMPLES"], image["SAMPLE_BITS"]) == (720, 1440, 16)
    assert image["SAMPLE_TYPE"] == "MSB_INTEGER"
    proj = label["IMAGE_MAP_PROJECTION"]
    assert proj["MAP_RESOLUTION"].value == 4 and proj["MAP_RESOLUTION"].unit == "PIXEL/DEGREE"
    assert proj["A_AXIS_RADIUS"] == pds3.Quantity(3396.0, "KM")
    assert label["^IMAGE"] == "MEGT90N000CB.IMG"


def test_mola_values_equal_raw_grid(raw: np.ndarray) -> None:
    dem = marsgis.open_dem("mola")
    np.testing.assert_array_equal(dem.values, raw.astype(np.float32))
    # pixel centres as the MEGDR documentation gives them
    np.testing.assert_allclose(dem["y"].values, 90 - (np.arange(720) + 0.5) / 4)
    np.testing.assert_allclose(dem["x"].values, (np.arange(1440) + 0.5) / 4)
    assert crs_code(dem.rio.crs) == "IAU_2015:49900"
    assert dem.attrs["units"] == "m" and dem.name == "mola" and dem.dims == ("y", "x")


def test_mola_published_extremes() -> None:
    """The PDS documentation publishes −8068 m to +21134 m for this grid."""
    dem = marsgis.open_dem("mola")
    assert float(dem.min()) == -8068.0 and float(dem.max()) == 21134.0
    top = dem.where(dem == dem.max(), drop=True)
    assert float(top["y"][0]) == 17.375 and float(top["x"][0]) == 226.875  # Olympus Mons
    low = dem.where(dem == dem.min(), drop=True)
    assert float(low["y"][0]) == -32.875 and float(low["x"][0]) == 62.125  # Hellas floor


def test_gdal_decodes_the_same_pixels(tmp_path: Path, raw: np.ndarray) -> None:
    """GDAL's PDS driver, reading our shipped label, decodes exactly the same pixels."""
    shutil.copy(LBL, tmp_path / "megt90n000cb.lbl")
    shutil.copy(IMG, tmp_path / "MEGT90N000CB.IMG")
    with rasterio.open(tmp_path / "megt90n000cb.lbl") as ds:
        assert ds.driver == "PDS" and (ds.height, ds.width) == (720, 1440)
        np.testing.assert_array_equal(ds.read(1), raw)
    dem = marsgis.open_dem(tmp_path / "megt90n000cb.lbl")
    np.testing.assert_array_equal(dem.values, raw.astype(np.float32))


def _attached(tmp_path: Path, raw: np.ndarray, *, lines: int = 720) -> Path:
    """An IMG with the label attached in front of the same real pixels."""
    text = LBL.read_text()
    text = text.replace('^IMAGE                        = "MEGT90N000CB.IMG"', "^IMAGE = 3")
    text = text.replace("LINES                       = 720", f"LINES = {lines}")
    label = text.encode("latin-1")
    record = 2880
    assert len(label) <= 2 * record
    path = tmp_path / "attached.img"
    path.write_bytes(label.ljust(2 * record, b" ") + raw.astype(">i2").tobytes())
    return path


def test_attached_label(tmp_path: Path, raw: np.ndarray) -> None:
    dem = marsgis.open_dem(_attached(tmp_path, raw))
    np.testing.assert_array_equal(dem.values, raw.astype(np.float32))


def test_detached_label_found_from_img(tmp_path: Path, raw: np.ndarray) -> None:
    shutil.copy(LBL, tmp_path / "megt90n000cb.lbl")
    shutil.copy(IMG, tmp_path / "megt90n000cb.img")
    dem = marsgis.open_dem(tmp_path / "megt90n000cb.img")
    assert float(dem.sel(y=17.375, x=226.875)) == 21134.0


def test_size_disagreeing_with_label_is_refused(tmp_path: Path, raw: np.ndarray) -> None:
    shutil.copy(LBL, tmp_path / "megt90n000cb.lbl")
    (tmp_path / "MEGT90N000CB.IMG").write_bytes(raw.astype(">i2").tobytes()[:-2880])
    with pytest.raises(LabelError, match=r"holds 2070720 bytes .* needs 2073600"):
        marsgis.open_dem(tmp_path / "megt90n000cb.lbl")


def test_missing_label_field_is_named(tmp_path: Path) -> None:
    text = LBL.read_text().replace("  SAMPLE_BITS                 = 16\n", "")
    (tmp_path / "m.lbl").write_text(text)
    shutil.copy(IMG, tmp_path / "MEGT90N000CB.IMG")
    with pytest.raises(LabelError, match=r"lacks required IMAGE field\(s\) \['SAMPLE_BITS'\]"):
        marsgis.open_dem(tmp_path / "m.lbl")


def test_missing_constant_becomes_nan_and_scaling_applies(tmp_path: Path, raw: np.ndarray) -> None:
    text = LBL.read_text()
    text = text.replace("MISSING_CONSTANT            = -32768", "MISSING_CONSTANT = -8068")
    text = text.replace("SCALING_FACTOR              = 1", "SCALING_FACTOR = 0.5")
    text = text.replace("OFFSET                      = 0", "OFFSET = 10")
    (tmp_path / "m.lbl").write_text(text)
    shutil.copy(IMG, tmp_path / "MEGT90N000CB.IMG")
    dem = marsgis.open_dem(tmp_path / "m.lbl")
    expected = np.where(raw == -8068, np.nan, raw * 0.5 + 10).astype(np.float32)
    np.testing.assert_array_equal(dem.values, expected)
    assert int(np.isnan(dem.values).sum()) == int((raw == -8068).sum()) >= 1


def test_img_without_any_label(tmp_path: Path) -> None:
    shutil.copy(IMG, tmp_path / "lonely.img")
    with pytest.raises(LabelError, match="neither an attached PDS3 label nor a detached .lbl"):
        marsgis.open_dem(tmp_path / "lonely.img")


@pytest.mark.parametrize(
    ("sample_type", "bits", "dtype"),
    [("MSB_INTEGER", 32, ">i4"), ("UNSIGNED_INTEGER", 16, ">u2"), ("LSB_INTEGER", 32, "<i4")],
)
def test_types_gdal_pds_misreads_are_read_as_the_label_says(
    tmp_path: Path, raw: np.ndarray, sample_type: str, bits: int, dtype: str
) -> None:
    """GDAL's PDS driver reads 32-bit integers as floats and UNSIGNED_INTEGER as LSB; we don't."""
    values = (raw[:200, :300].astype(np.int64) + 9000).astype(dtype)  # all ≥ 932: no specials
    text = LBL.read_text()
    text = text.replace('^IMAGE                        = "MEGT90N000CB.IMG"', '^IMAGE = "T.IMG"')
    text = text.replace("RECORD_BYTES                  = 2880", f"RECORD_BYTES = {300 * bits // 8}")
    text = text.replace("LINES                       = 720", "LINES = 200")
    text = text.replace("LINE_SAMPLES                = 1440", "LINE_SAMPLES = 300")
    text = text.replace("SAMPLE_TYPE                 = MSB_INTEGER", f"SAMPLE_TYPE = {sample_type}")
    text = text.replace("SAMPLE_BITS                 = 16", f"SAMPLE_BITS = {bits}")
    (tmp_path / "t.lbl").write_text(text)
    (tmp_path / "T.IMG").write_bytes(values.tobytes())
    dem = marsgis.open_dem(tmp_path / "t.lbl")
    np.testing.assert_array_equal(dem.values, values.astype(np.float32))
