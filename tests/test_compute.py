"""marsgis.compute: a LocalCluster sized to the machine runs real work with the same result."""

from __future__ import annotations

import os

import numpy as np

import marsgis
from marsgis.compute import client, local_cluster_plan
from marsgis.data import DATA_DIR


def test_plan_is_sized_to_the_machine() -> None:
    plan = local_cluster_plan()
    assert plan.n_workers == len(os.sched_getaffinity(0))
    assert plan.threads_per_worker == 1
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert abs(plan.memory_limit * plan.n_workers - 0.8 * total) < 0.01 * total


def test_local_cluster_computes_like_numpy(monkeypatch) -> None:
    monkeypatch.delenv("MARSGIS_GATEWAY_ADDRESS", raising=False)
    raw = np.fromfile(DATA_DIR / "mola-megdr-4ppd" / "megt90n000cb.img", dtype=">i2").astype(
        np.float64
    )
    dem = marsgis.open_dem("mola", chunks=180)
    with client() as c:
        assert len(c.scheduler_info()["workers"]) == len(os.sched_getaffinity(0))
        total = float(dem.astype("float64").sum().compute())
        hi = float(dem.max().compute())
    assert total == raw.sum() and hi == 21134.0
