"""marsgis.compute.client() against a real dask-gateway server on localhost.

The gateway runs its schedulers and workers as local processes (UnsafeLocalBackend); one
gateway offers a GPU option (workers then declare a ``GPU`` resource), one does not, and
marsgis must fall back to CPU workers with a warning there.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import requests

import marsgis
from marsgis.compute import client
from marsgis.data import DATA_DIR

CONFIG = Path(__file__).with_name("gateway_config.py")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(tmp: Path, gpu: bool) -> Iterator[str]:
    port, proxy = _free_port(), _free_port()
    env = {
        **os.environ,
        "TEST_GATEWAY_PORT": str(port),
        "TEST_GATEWAY_PROXY_PORT": str(proxy),
        "TEST_GATEWAY_GPU": "1" if gpu else "0",
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    exe = Path(sys.executable).parent / "dask-gateway-server"
    log = open(tmp / "gateway.log", "w")
    proc = subprocess.Popen([str(exe), "-f", str(CONFIG)], cwd=tmp, env=env, stdout=log, stderr=log)
    address = f"http://127.0.0.1:{proxy}"  # users talk to the proxy (HTTP API + scheduler TLS)
    try:
        for _ in range(150):
            try:
                if requests.get(f"{address}/api/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        else:
            raise RuntimeError((tmp / "gateway.log").read_text())
        yield address
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@pytest.fixture
def gateway_gpu(tmp_path: Path) -> Iterator[str]:
    yield from _start(tmp_path, gpu=True)


@pytest.fixture
def gateway_cpu(tmp_path: Path) -> Iterator[str]:
    yield from _start(tmp_path, gpu=False)


def _close(c) -> None:
    cluster = c.cluster
    c.close()
    cluster.shutdown()
    cluster.close()


def _mola_sum(c) -> float:
    dem = marsgis.open_dem("mola", chunks=360)
    return float(c.compute(dem.astype("float64").sum().data).result())


RAW_SUM = float(
    np.fromfile(DATA_DIR / "mola-megdr-4ppd" / "megt90n000cb.img", dtype=">i2")
    .astype(np.float64)
    .sum()
)


def test_gateway_gpu_workers_when_offered(gateway_gpu: str, monkeypatch) -> None:
    monkeypatch.setenv("MARSGIS_GATEWAY_ADDRESS", gateway_gpu)
    monkeypatch.setenv("MARSGIS_GATEWAY_AUTH", "basic")
    monkeypatch.setenv("MARSGIS_GPU", "1")
    c = client(n_workers=1, worker_cores=1, worker_memory_gb=1.0)
    try:
        c.wait_for_workers(1, timeout=120)
        workers = c.scheduler_info()["workers"].values()
        assert [w["resources"] for w in workers] == [{"GPU": 1.0}]
        assert _mola_sum(c) == RAW_SUM
    finally:
        _close(c)


def test_gateway_without_gpu_falls_back_to_cpu(gateway_cpu: str, monkeypatch) -> None:
    monkeypatch.setenv("MARSGIS_GATEWAY_AUTH", "basic")
    with pytest.warns(UserWarning, match="offers no GPU option; using CPU workers"):
        c = client(address=gateway_cpu, gpu=True, n_workers=1)
    try:
        c.wait_for_workers(1, timeout=120)
        assert [w["resources"] for w in c.scheduler_info()["workers"].values()] == [{}]
        assert _mola_sum(c) == RAW_SUM
    finally:
        _close(c)


def test_unreachable_gateway_is_a_clear_error(monkeypatch) -> None:
    from marsgis.exceptions import MarsGISError

    with pytest.raises(MarsGISError, match="cannot reach the dask-gateway at 'http://127.0.0.1:9'"):
        client(address="http://127.0.0.1:9", gpu=False)
