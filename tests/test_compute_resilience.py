"""A dask worker killed in the middle of a computation does not change its result.

A LocalCluster of two worker processes computes the slope of the shipped MOLA grid. One input
chunk is held back (it waits for a flag file), so the computation is certainly unfinished
when the worker holding finished slope chunks is killed with SIGKILL. Its nanny starts a new
worker, the scheduler recomputes the lost chunks from the task graph, and the result equals
the slope computed in memory with numpy.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np
from distributed import Client, LocalCluster, futures_of

import marsgis
from marsgis.terrain import slope


def _gated(dem: Any, flag: Path) -> Any:
    """``dem`` with its last chunk held back until ``flag`` exists (values unchanged)."""
    last = (len(dem.chunks[0]) - 1, len(dem.chunks[1]) - 1)
    flag_path = str(flag)

    def hold(block: np.ndarray, block_info: Any = None) -> np.ndarray:
        if block_info is not None and tuple(block_info[0]["chunk-location"]) == last:
            deadline = time.monotonic() + 120
            while not os.path.exists(flag_path) and time.monotonic() < deadline:
                time.sleep(0.05)
        return block

    return dem.copy(data=dem.data.map_blocks(hold, dtype=dem.dtype))


def test_killed_worker_does_not_change_the_slope(tmp_path: Path) -> None:
    expected = slope(marsgis.open_dem("mola")).values
    flag = tmp_path / "go"
    dem = _gated(marsgis.open_dem("mola", chunks={"y": 180, "x": 360}), flag)
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=2,
            processes=True,
            memory_limit="1GiB",
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        persisted = client.persist(slope(dem).data)
        futures = futures_of(persisted)
        deadline = time.monotonic() + 120
        while True:  # wait for finished slope chunks (the held-back chunk keeps some pending)
            finished = [f for f in futures if f.status == "finished"]
            if len(finished) >= 4:
                break
            assert time.monotonic() < deadline, [f.status for f in futures]
            time.sleep(0.05)
        assert len(finished) < len(futures)  # unfinished: the kill lands mid-computation
        holders: dict[str, int] = {}
        for addresses in client.who_has(finished).values():
            for address in addresses:
                holders[address] = holders.get(address, 0) + 1
        victim = max(holders, key=lambda a: holders[a])
        pid = client.run(os.getpid, workers=[victim])[victim]
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while victim in client.scheduler_info()["workers"]:  # the scheduler sees it gone
            assert time.monotonic() < deadline
            time.sleep(0.1)
        flag.touch()
        result = client.compute(persisted).result(timeout=180)
        client.wait_for_workers(2, timeout=60)  # the nanny replaced the killed worker
        assert victim not in client.scheduler_info()["workers"]
    assert result.shape == expected.shape == (720, 1440)
    np.testing.assert_array_equal(result, expected)  # NaN where NaN, identical elsewhere
