"""Outputs never destroy good files: atomic replace with a check, on real writes and a full disk.

The full disk is a real one as far as the writer can tell: a subprocess with a small
``RLIMIT_FSIZE`` (and SIGXFSZ ignored, so writes fail with EFBIG as they would with ENOSPC).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio

import marsgis
from marsgis.exceptions import DataReadError, OutputError
from marsgis.io.atomic import atomic_path, check_geotiff, check_json, write_text
from marsgis.io.writers import write_dem

MARSGIS = str(Path(sys.executable).with_name("marsgis"))
GALE_1M = Path(marsgis.__file__).parent / "data" / "mmgis-gale-test-mission" / "missionDEM.tif"


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


def test_replaces_only_when_complete(tmp_path: Path) -> None:
    target = tmp_path / "plan.json"
    target.write_bytes(b'{"old": true}')
    target.chmod(0o640)
    write_text(target, '{"sol": 746}', check=check_json)
    assert target.read_text() == '{"sol": 746}'
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # permissions kept
    assert _leftovers(tmp_path) == []


def test_failing_writer_leaves_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "plan.json"
    target.write_bytes(b'{"old": true}')
    with pytest.raises(RuntimeError, match="writer broke"), atomic_path(target) as tmp:
        tmp.write_text('{"half": ')
        raise RuntimeError("writer broke")
    assert target.read_bytes() == b'{"old": true}'
    assert _leftovers(tmp_path) == []


def test_failed_check_leaves_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "route.geojson"
    target.write_bytes(b"{}")
    with pytest.raises(OutputError, match=r"writing '.*route.geojson' failed: the JSON written"):
        write_text(target, '{"type": "FeatureCollection", "features": [', check=check_json)
    assert target.read_bytes() == b"{}"
    assert _leftovers(tmp_path) == []


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"folder '.*nowhere' does not exist; create it"):
        write_text(tmp_path / "nowhere" / "a.txt", "x")


def test_geotiff_check_finds_a_truncated_file(tmp_path: Path) -> None:
    whole = tmp_path / "gale.tif"
    shutil.copy(GALE_1M, whole)
    check_geotiff(whole)  # the shipped file is whole
    cut = tmp_path / "cut.tif"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with rasterio.open(cut) as src:  # GDAL itself opens it without complaint
        assert src.width > 0
    with pytest.raises(OutputError, match=r"tile \(\d+, \d+\) ends at byte \d+ but the file has"):
        check_geotiff(cut)


def test_write_dem_from_a_truncated_input_keeps_the_old_output(tmp_path: Path) -> None:
    bad = tmp_path / "BAD.tif"
    data = GALE_1M.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    keep = tmp_path / "keep.tif"
    write_dem(marsgis.open_dem("gale-mola"), keep)
    before = keep.read_bytes()
    with pytest.raises(DataReadError, match=r"BAD\.tif"):
        write_dem(marsgis.open_dem(bad, chunks=256), keep)
    assert keep.read_bytes() == before
    assert _leftovers(tmp_path) == []


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (300 * 1024, 300 * 1024))


def test_full_disk_keeps_the_previous_output_and_fails(tmp_path: Path) -> None:
    keep = tmp_path / "keep.tif"
    write_dem(marsgis.open_dem("gale-mola"), keep)
    before = keep.read_bytes()
    env = {**os.environ, "MARSGIS_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.run(
        [MARSGIS, "terrain", "slope", "mola", "-o", str(keep)],
        capture_output=True,
        text=True,
        env=env,
        preexec_fn=_limit_file_size,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "error: writing" in proc.stderr
    assert "unchanged" in proc.stderr
    assert keep.read_bytes() == before
    assert _leftovers(tmp_path) == []
    # and the same command with room to write replaces it with a readable slope raster
    subprocess.run([MARSGIS, "terrain", "slope", "mola", "-o", str(keep)], env=env, check=True,
                   capture_output=True, timeout=300)  # fmt: skip
    with rasterio.open(keep) as src:
        slope = src.read(1)
    assert slope.shape == (720, 1440)
    assert float(np.nanmax(slope)) > 10.0


def test_full_disk_traverse_geojson_keeps_the_previous_route(tmp_path: Path) -> None:
    route = tmp_path / "r.geojson"
    route.write_text('{"type": "FeatureCollection", "features": []}')
    before = route.read_bytes()
    args = [MARSGIS, "traverse", "--dem", "gale-mola", "--from", "-4.5895,137.4417",
            "--to", "-4.70,137.40", "-o", str(route)]  # fmt: skip

    def one_kib() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))

    env = {**os.environ, "MARSGIS_DATA_DIR": str(tmp_path / "data")}
    full = subprocess.run(args, capture_output=True, text=True, env=env, preexec_fn=one_kib,
                          timeout=300, check=False)  # fmt: skip
    assert full.returncode == 2, full.stderr
    assert "Traceback" not in full.stderr
    assert "error: writing" in full.stderr and "cannot be read back" in full.stderr
    assert route.read_bytes() == before
    assert _leftovers(tmp_path) == []
    ok = subprocess.run([*args, "--json"], capture_output=True, text=True, env=env, timeout=300,
                        check=True)  # fmt: skip
    written = marsgis.open_features(route)
    summary = json.loads(ok.stdout)
    assert len(written) == len(summary["legs"]) == 1
    assert written["length_m"].sum() == pytest.approx(summary["length_m"], rel=1e-12)
