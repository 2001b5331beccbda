"""marsgis.compute: a LocalCluster sized to the machine runs real work with the same result."""

from __future__ import annotations

import os

import numpy as np
import pytest

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


def test_invalid_worker_counts_and_memory_are_refused(monkeypatch) -> None:
    import pytest

    from marsgis.exceptions import ValidationError

    monkeypatch.delenv("MARSGIS_GATEWAY_ADDRESS", raising=False)
    for kwargs, message in (
        ({"n_workers": -1}, "n_workers=-1 must be a whole number ≥ 1"),
        ({"n_workers": 0}, "n_workers=0 must be a whole number ≥ 1"),
        ({"n_workers": 2.5}, "n_workers=2.5 must be a whole number ≥ 1"),
        ({"n_workers": True}, "n_workers=True must be a whole number ≥ 1"),
        ({"worker_cores": 0}, "worker_cores=0 must be a whole number ≥ 1"),
        ({"worker_memory_gb": "lots"}, "worker_memory_gb='lots' is not a memory size"),
        ({"worker_memory_gb": -1.0}, "worker_memory_gb=-1.0 must be more than 0"),
        ({"worker_memory_gb": float("nan")}, "worker_memory_gb=nan must be more than 0"),
    ):
        with pytest.raises(ValidationError) as info:
            client(**kwargs)  # refused before any cluster starts
        assert str(info.value).startswith(message)
    with pytest.raises(ValidationError, match=r"^threads_per_worker=0 must be a whole number"):
        local_cluster_plan(threads_per_worker=0)
    with pytest.raises(ValidationError, match=r"^memory_fraction=1.5 must be a share"):
        local_cluster_plan(memory_fraction=1.5)
    with pytest.raises(ValidationError, match=r"^n_workers=-1 must be"):
        local_cluster_plan(-1)
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    plan = local_cluster_plan(3, 0.5, threads_per_worker=2)
    assert (plan.n_workers, plan.threads_per_worker) == (3, 2)
    assert abs(plan.memory_limit * 3 - 0.5 * total) < 0.01 * total


def _resources(c) -> dict[str, dict]:
    return {
        w["name"]: dict(w.get("resources") or {}) for w in c.scheduler_info()["workers"].values()
    }


def test_gpu_client_without_cuda_declares_no_gpu_and_falls_back_to_cpu(monkeypatch) -> None:
    import torch

    from marsgis.compute import cuda_device_count

    monkeypatch.delenv("MARSGIS_GATEWAY_ADDRESS", raising=False)
    assert cuda_device_count() == torch.cuda.device_count()  # 0 in CI
    expected = min(cuda_device_count(), 2)
    with client(gpu=True, n_workers=2, processes=False) as c:
        res = list(_resources(c).values())
        assert len(res) == 2 and res.count({"GPU": 1.0}) == expected
        assert res.count({}) == 2 - expected
        assert float(c.submit(lambda: 2.0 + 2.0).result()) == 4.0


def test_gpu_workers_declare_the_resource_and_see_only_their_device(monkeypatch) -> None:
    from marsgis.compute import add_gpu_workers

    monkeypatch.delenv("MARSGIS_GATEWAY_ADDRESS", raising=False)
    with client(n_workers=1, processes=True) as c:
        add_gpu_workers(c, 2)
        res = _resources(c)
        assert sorted(res.items(), key=lambda kv: str(kv[0])) == sorted(
            {0: {}, "gpu-0": {"GPU": 1.0}, "gpu-1": {"GPU": 1.0}}.items(), key=lambda kv: str(kv[0])
        )
        seen = c.run(lambda: os.environ.get("CUDA_VISIBLE_DEVICES"))
        by_name = {c.scheduler_info()["workers"][a]["name"]: v for a, v in seen.items()}
        assert by_name["gpu-0"] == "0" and by_name["gpu-1"] == "1"
        assert by_name[0] != "0" or os.environ.get("CUDA_VISIBLE_DEVICES") == "0"


@pytest.mark.gpu
def test_gpu_client_declares_one_gpu_worker_per_device(monkeypatch) -> None:
    import torch

    monkeypatch.delenv("MARSGIS_GATEWAY_ADDRESS", raising=False)
    n = torch.cuda.device_count()
    with client(gpu=True, n_workers=n + 1, processes=True) as c:
        gpu = [r for r in _resources(c).values() if r == {"GPU": 1.0}]
        assert len(gpu) == n and len(_resources(c)) == n + 1
