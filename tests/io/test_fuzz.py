"""Fuzz: mutated PDS3 labels and damaged rasters give a value or a MarsGISError, nothing else.

Hypothesis mutates real small products — PDS3 labels (keys deleted, duplicated, garbled,
values changed), and a GeoTIFF, an attached-label PDS3 IMG and an ISIS3 cube (bytes flipped,
truncated at any point) — then opens each with :func:`marsgis.open_dem`, computes a
statistic (so lazy reads happen) and runs ``marsgis dem info`` on it in-process; a couple of
cases also run the real ``marsgis`` command in a subprocess. Derandomized, so every run tries
the same few hundred cases.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from planetary_files import Product, write_ctx_cube, write_hirise_dtm, write_mola_tile

import marsgis
from marsgis.cli import main
from marsgis.exceptions import MarsGISError

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

VALUES = [
    "",
    "0",
    "-1",
    "1",
    "3",
    "1e300",
    "-1e300",
    "NaN",
    "abc",
    '"quoted"',
    "16#FFFF#",
    "16#ZZ#",
    "2#1010#",
    "(1, 2)",
    "{A, B}",
    "4 <KM>",
    "N/A",
    "99999999999999999999",
    "=",
    "END",
    "OBJECT",
    "END_OBJECT",
    "/* open comment",
    '"unterminated',
]


def _small_geotiff(path: Path) -> Path:
    rng = np.random.default_rng(7)
    values = (rng.normal(-4500.0, 30.0, (64, 48))).astype(np.float32)
    values[0, :5] = -9999.0
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=48,
        height=64,
        count=1,
        dtype="float32",
        crs="IAU_2015:49910",
        nodata=-9999.0,
        tiled=True,
        blockxsize=16,
        blockysize=16,
        compress="deflate",
        transform=Affine(100.0, 0, 8_140_000.0, 0, -100.0, -272_000.0),
    ) as dst:
        dst.write(values, 1)
    return path


@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Product | Path]:
    folder = tmp_path_factory.mktemp("fuzz-originals")
    return {
        "mola": write_mola_tile(folder),
        "hirise": write_hirise_dtm(folder),
        "ctx": write_ctx_cube(folder),
        "tif": _small_geotiff(folder / "small.tif"),
    }


def _outcome(path: Path) -> None:
    """open_dem + a statistic, and ``dem info``: a value or a MarsGISError, nothing else."""
    try:
        dem = marsgis.open_dem(path)
        value = float(dem.mean().compute() if hasattr(dem.data, "compute") else dem.mean())
        assert isinstance(value, float)
    except MarsGISError as exc:
        assert str(exc)  # a message, always
    result = CliRunner().invoke(main, ["dem", "info", str(path), "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}"
    )
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        assert "error: " in result.stderr and "Traceback" not in result.output


@st.composite
def label_mutations(draw: st.DrawFn) -> list[tuple[str, int, str]]:
    ops = st.tuples(
        st.sampled_from(["delete", "duplicate", "garble", "value", "swap"]),
        st.integers(min_value=0, max_value=10_000),
        st.one_of(st.sampled_from(VALUES), st.text(min_size=0, max_size=8)),
    )
    return draw(st.lists(ops, min_size=1, max_size=4))


def _mutate_label(text: str, mutations: list[tuple[str, int, str]]) -> str:
    lines = text.splitlines()
    for op, at, payload in mutations:
        if not lines:
            break
        i = at % len(lines)
        line = lines[i]
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, line)
        elif op == "garble":
            j = at % (len(line) + 1)
            lines[i] = line[:j] + payload + line[j + len(payload) :]
        elif op == "value" and "=" in line:
            lines[i] = line.split("=", 1)[0] + "= " + payload
        elif op == "swap":
            k = (at // 7) % len(lines)
            lines[i], lines[k] = lines[k], lines[i]
    return "\n".join(lines) + "\n"


@FUZZ
@given(mutations=label_mutations())
def test_mutated_pds3_labels(originals: dict, mutations: list[tuple[str, int, str]]) -> None:
    mola: Product = originals["mola"]
    text = mola.path.read_text()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        shutil.copy(mola.path.with_suffix(".img"), folder / "megt04s137hb.img")
        label = folder / "megt04s137hb.lbl"
        label.write_text(_mutate_label(text, mutations), encoding="latin-1", errors="replace")
        _outcome(label)


@st.composite
def damage(draw: st.DrawFn) -> tuple[str, str, list[tuple[int, int]], float]:
    which = draw(st.sampled_from(["tif", "hirise", "ctx"]))
    kind = draw(st.sampled_from(["flip", "truncate", "both"]))
    flips = draw(
        st.lists(st.tuples(st.integers(0, 2**31), st.integers(1, 255)), min_size=1, max_size=12)
    )
    cut = draw(st.floats(min_value=0.0, max_value=1.0, allow_nan=False))
    return which, kind, flips, cut


@FUZZ
@given(case=damage())
def test_corrupted_and_truncated_rasters(
    originals: dict, case: tuple[str, str, list[tuple[int, int]], float]
) -> None:
    which, kind, flips, cut = case
    source = originals[which]
    path = source.path if isinstance(source, Product) else source
    data = bytearray(path.read_bytes())
    if kind in ("flip", "both"):
        for at, mask in flips:
            data[at % len(data)] ^= mask
    if kind in ("truncate", "both"):
        data = data[: math.floor(len(data) * cut)]
    with tempfile.TemporaryDirectory() as tmp:
        damaged = Path(tmp) / path.name
        damaged.write_bytes(bytes(data))
        _outcome(damaged)


@pytest.mark.parametrize("cut", [0.5, 0.02])
def test_cli_subprocess_on_a_truncated_geotiff(originals: dict, tmp_path: Path, cut: float) -> None:
    data = originals["tif"].read_bytes()
    bad = tmp_path / "cut.tif"
    bad.write_bytes(data[: int(len(data) * cut)])
    root = str(Path(marsgis.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, *sys.path])}
    proc = subprocess.run(
        [sys.executable, "-m", "marsgis", "dem", "info", str(bad)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("error: ") and "cut.tif" in proc.stderr
    assert "Traceback" not in proc.stderr
