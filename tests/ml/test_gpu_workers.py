"""Batch inference on a real two-worker dask cluster: classification lands on the GPU worker.

The cluster is real (a scheduler and two in-process workers, one declaring ``GPU: 1``); where
each task ran is read back from the scheduler's task stream.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import xarray as xr
from dask.utils import key_split
from distributed import Client, Scheduler, SpecCluster, Worker, get_task_stream

import marsgis.ml


@pytest.fixture
def two_workers() -> Iterator[tuple[Client, str]]:
    """A client of a cluster with one ``GPU`` worker and one plain worker; the GPU's address."""
    spec = {
        "gpu": {"cls": Worker, "options": {"nthreads": 1, "resources": {"GPU": 1}}},
        "cpu": {"cls": Worker, "options": {"nthreads": 1}},
    }
    scheduler = {"cls": Scheduler, "options": {"dashboard_address": ":0"}}
    with SpecCluster(workers=spec, scheduler=scheduler) as cluster, Client(cluster) as client:
        client.wait_for_workers(2)
        info = client.scheduler_info()["workers"]
        gpu = [addr for addr, w in info.items() if "GPU" in (w.get("resources") or {})]
        assert len(gpu) == 1 and len(info) == 2
        yield client, gpu[0]


def _image() -> xr.DataArray:
    rng = np.random.default_rng(7)
    base = rng.integers(0, 256, size=(30, 30)).astype(np.float32)
    # smooth structure (a bilinear zoom of noise) so tiles differ in texture
    from scipy.ndimage import zoom

    img = np.clip(zoom(base, 10, order=1) + rng.normal(0, 20, (300, 300)), 0, 255)
    return xr.DataArray(img.astype(np.uint8), dims=("y", "x"))


def test_every_classify_task_runs_on_the_gpu_worker(
    two_workers: tuple[Client, str], shipped: Any
) -> None:
    client, gpu = two_workers
    image = _image()
    ref = marsgis.ml.classify_raster(image, shipped, tile=32, stride=16, probabilities=True)
    assert marsgis.ml.inference.gpu_workers_available() is True
    with get_task_stream(client) as stream:
        lazy = marsgis.ml.classify_raster(
            image.chunk({"y": 100, "x": 100}), shipped, tile=32, stride=16, probabilities=True
        )
        out = lazy.compute()
    ran = [(key_split(t["key"]), t["worker"]) for t in stream.data]
    classify = [worker for name, worker in ran if name == "classify_block"]
    assert len(classify) == 9  # 3 x 3 chunks, each classified once
    assert classify == [gpu] * 9
    np.testing.assert_array_equal(out["class"].values, ref["class"].values)
    np.testing.assert_allclose(out["probability"].values, ref["probability"].values, atol=1e-6)
    np.testing.assert_allclose(out["confidence"].values, ref["confidence"].values, atol=1e-6)


def test_plain_workers_get_no_resource_annotation(
    two_workers: tuple[Client, str], shipped: Any
) -> None:
    del two_workers  # the cluster is active; nothing is submitted without the resource
    image = _image().chunk({"y": 150, "x": 150})
    out = marsgis.ml.classify_raster(image, shipped, tile=32, stride=16, gpu_resources=False)
    graph = out["class"].data.__dask_graph__()
    assert [layer.annotations for layer in graph.layers.values() if layer.annotations] == []
    ref = marsgis.ml.classify_raster(_image(), shipped, tile=32, stride=16)
    np.testing.assert_array_equal(out["class"].values, ref["class"].values)
