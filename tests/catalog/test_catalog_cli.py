"""`marsgis catalog ...` run as a user would: subprocesses of the installed CLI."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from stac_test_server import MISSION_DEM, StacServer, lonlat_bbox_of_raster

from marsgis.data import RASTERS, VECTORS

CLI = [str(Path(sys.executable).parent / "marsgis")]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_list_shows_every_shipped_dataset() -> None:
    out = run("catalog", "list", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert {r["id"] for r in rows} == set(RASTERS) | set(VECTORS)
    gale = next(r for r in rows if r["id"] == "gale-1m")
    assert gale["bbox"] == pytest.approx(lonlat_bbox_of_raster(MISSION_DEM), abs=1e-9)
    assert Path(gale["assets"]["data"]) == MISSION_DEM


@pytest.mark.network
def test_search_fetch_and_cache_commands(stac_server: StacServer, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from marsgis.cli import main

    env = {
        "MARSGIS_STAC_URL": stac_server.base + "/",
        "MARSGIS_CACHE_DIR": str(tmp_path / "cache"),
        "MARSGIS_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}",
    }
    from marsgis import db

    db.upgrade(env["MARSGIS_DATABASE_URL"])  # an explicit SpatiaLite URL must name a store
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        result = runner.invoke(main, ["catalog", *args, "--json"], env=env)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    found = invoke("search", "--bbox", "137.36,-4.67,137.38,-4.66", "--collection", "gale-dtm")
    assert sorted(r["id"] for r in found) == ["gale-1m", "gale-1m-cog"]

    href = next(r for r in found if r["id"] == "gale-1m")["assets"]["data"]
    fetched = invoke("fetch", href)
    digest = hashlib.sha256(MISSION_DEM.read_bytes()).hexdigest()
    assert fetched["sha256"] == digest
    assert hashlib.sha256(Path(fetched["path"]).read_bytes()).hexdigest() == digest
    assert Path(fetched["path"]).is_relative_to(tmp_path / "cache")

    index = invoke("cache", "--bbox", "137,-5,138,-4")
    assert [a["href"] for a in index["assets"]] == [href]
    assert index["assets"][0]["data_type"] == "dem"
    assert invoke("cache", "--bbox", "77,18,78,19")["assets"] == []

    colls = invoke("collections")
    assert {c["id"] for c in colls} == {"broken", "gale-dtm", "mola-megdr", "traverses"}


def test_errors_print_one_line_and_exit_2(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    out = run("catalog", "search", "--bbox", "137,-5,138,-4", "--url", url, "--json")
    assert out.returncode == 2
    assert out.stderr.startswith("error: STAC API ")
    assert url in out.stderr and "Traceback" not in out.stderr
    out = run("catalog", "search", "--bbox", "137,-5,138", "--url", url)
    assert out.returncode == 2
    assert "W,S,E,N" in out.stderr
