"""GPU benchmarks (issue #17): CuPy slope vs the device's memory bandwidth, CUDA inference.

* **Slope at 8192²** on a CuPy-backed DataArray (``marsgis.terrain.slope`` dispatches to
  :mod:`marsgis.terrain._cupy`) against ``cupy.add(a, 0, out=b)`` on the same device: the
  read-once/write-once floor of the device's memory, as the CPU section measures against
  ``np.add``. The result is also compared with the CPU kernel (float32 tolerance).
* **Batch inference**: ``classify_raster(..., device="cuda")`` against the classifier's raw
  forward (:meth:`~marsgis.ml.Classifier.logits`, IEEE float32 as the pipeline) on the same
  tiles, pre-cut and resized on the GPU, in the same batches.

Every timing synchronises the device before the clock stops. On a machine without CUDA (CI,
a laptop) each row says "not measured" and why: a GPU figure is only ever one that was
measured, on the device named in the row.

``python benchmarks/bench_gpu.py`` prints one JSON document; ``benchmarks/run.py --only gpu``
writes its section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def cuda_unavailable() -> str | None:
    """Why the GPU rows cannot be measured here, or None when CuPy and torch both see CUDA."""
    try:
        import cupy
    except ImportError as exc:
        return f"CuPy is not installed ({exc})"
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return "CuPy sees no CUDA device"
    except Exception as exc:  # no driver: CUDARuntimeError and kin
        return f"CuPy sees no CUDA device ({exc})"
    import torch

    if not torch.cuda.is_available():
        return f"torch {torch.__version__} has no CUDA (a CPU build, or no driver)"
    return None


def device_name() -> str:
    """The CUDA device's name and memory, e.g. ``NVIDIA H100 80GB HBM3 (79.2 GiB)``."""
    import torch

    props = torch.cuda.get_device_properties(0)
    return f"{props.name} ({props.total_memory / 2**30:.1f} GiB)"


def _best_synced(func: Callable[[], Any], repeats: int) -> float:
    """Best wall-clock seconds of ``repeats`` calls, the device synchronised around each."""
    import cupy

    best = float("inf")
    for _ in range(repeats):
        cupy.cuda.Device().synchronize()
        start = time.perf_counter()
        func()
        cupy.cuda.Device().synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def bench_gpu_slope(dem_path: str | Path, repeats: int = 7) -> dict[str, Any]:
    """CuPy slope of the DEM at ``dem_path`` vs ``cupy.add(a, 0, out=b)``; CPU agreement."""
    import cupy

    import marsgis
    import marsgis.terrain as terrain

    dem = marsgis.open_dem(dem_path).compute()
    on_gpu = dem.copy(data=cupy.asarray(dem.values, dtype=cupy.float32))
    a = on_gpu.data
    b = cupy.empty_like(a)
    terrain.slope(on_gpu)  # warm: compile the kernels, fill the memory pool
    cupy.add(a, 0, out=b)
    proxy = ours = float("inf")
    for _ in range(repeats):  # alternate, so both see the same device state
        proxy = min(proxy, _best_synced(lambda: cupy.add(a, 0, out=b), 1))
        ours = min(ours, _best_synced(lambda: terrain.slope(on_gpu), 1))
    gpu = cupy.asnumpy(terrain.slope(on_gpu).data)
    cpu = terrain.slope(dem).values
    both = np.isfinite(gpu) & np.isfinite(cpu)
    return {
        "shape": list(dem.shape),
        "device": device_name(),
        "slope_seconds": ours,
        "proxy_seconds": proxy,
        "proxy_gb_per_s": 2 * a.nbytes / proxy / 1e9,
        "ratio": ours / proxy,
        "mcells_per_s": dem.size / ours / 1e6,
        "max_abs_diff_deg": float(np.max(np.abs(gpu[both] - cpu[both]))),
        "same_nodata": bool(np.array_equal(np.isnan(gpu), np.isnan(cpu))),
    }


def bench_gpu_inference(repeats: int = 5, batch_size: int = 256) -> dict[str, Any]:
    """Tiles per second of ``classify_raster`` on CUDA vs the raw forward on the same tiles."""
    import torch
    from bench_ml import _mosaic, prepared_tiles

    import marsgis.ml

    clf = marsgis.ml.load("terrain-classifier", device="cuda")
    image = _mosaic()
    tile, stride = clf.tile_size, clf.tile_size // 2
    ny, nx = image.shape
    prepared = prepared_tiles(clf, image, stride, batch_size)  # on the GPU, not timed
    n_tiles = sum(len(x) for x in prepared)

    def raw() -> None:
        for x in prepared:
            clf.logits(x)
        torch.cuda.synchronize()

    def pipeline() -> Any:
        return marsgis.ml.classify_raster(
            image, clf, tile=tile, stride=stride, batch_size=batch_size
        )

    out = pipeline()  # warm: cuDNN's algorithm choice, the caching allocator
    raw()
    raw_s = pipe_s = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        raw()
        raw_s = min(raw_s, time.perf_counter() - t0)
        t0 = time.perf_counter()
        pipeline()  # returns numpy: the device has finished
        pipe_s = min(pipe_s, time.perf_counter() - t0)
    cpu = marsgis.ml.classify_raster(
        image, marsgis.ml.load("terrain-classifier", device="cpu"), tile=tile, stride=stride
    )
    return {
        "device": device_name(),
        "image": f"{ny} × {nx} uint8",
        "tiles": n_tiles,
        "batch_size": batch_size,
        "pipeline_tiles_per_s": n_tiles / pipe_s,
        "raw_tiles_per_s": n_tiles / raw_s,
        "ratio": raw_s / pipe_s,
        "classes_equal_cpu": float((out["class"].values == cpu["class"].values).mean()),
    }


def register(
    benchmark: Callable[[str], Any],
    row_cls: Any,
    section_cls: Any,
    *,
    gale_8k: Callable[[Any], Path],
    gale_8k_note: str,
) -> None:
    """Register the ``gpu`` section with ``benchmarks/run.py``'s registry."""

    @benchmark("gpu")
    def gpu(ctx: Any) -> Any:
        slope_what = (
            "GPU `marsgis.terrain.slope(dem)` on a CuPy-backed 8192² float32 DataArray vs "
            "`cupy.add(a, 0, out=b)` (the device's read-once/write-once floor)"
        )
        infer_what = (
            '`classify_raster(..., device="cuda")` on the 2043 × 2043 HiRISE mosaic vs the '
            "raw CUDA forward (`Classifier.logits`) on the same tiles, pre-cut and resized"
        )
        reason = cuda_unavailable()
        if reason is not None:
            rows = [
                row_cls(what, "not measured", "—", "—", "—", None)
                for what in (slope_what, infer_what)
            ]
            notes = [
                f"Not measured on this machine: {reason}. These rows are only ever filled by "
                "a run on a CUDA device, named in them (`python benchmarks/run.py --only gpu`; "
                "the `gpu`-marked tests are `make test-gpu`)."
            ]
            return section_cls("GPU: CuPy terrain kernels and CUDA inference", rows, notes)
        s = bench_gpu_slope(gale_8k(ctx), repeats=max(7, ctx.repeats))
        m = bench_gpu_inference(repeats=max(5, ctx.repeats))
        rows = [
            row_cls(
                f"{slope_what}, {s['device']}",
                f"{s['slope_seconds'] * 1e3:.2f} ms ({s['mcells_per_s']:.0f} Mcells/s)",
                f"{s['proxy_seconds'] * 1e3:.2f} ms ({s['proxy_gb_per_s']:.0f} GB/s read + "
                "written)",
                f"{s['ratio']:.1f}× the proxy; max |GPU − CPU| {s['max_abs_diff_deg']:.1e}°, "
                f"same nodata: {s['same_nodata']}",
                "—",
                None,
            ),
            row_cls(
                f"{infer_what}, {m['device']}, batches of {m['batch_size']}",
                f"{m['pipeline_tiles_per_s']:.0f} tiles/s",
                f"{m['raw_tiles_per_s']:.0f} tiles/s",
                f"{m['ratio']:.2f}× the raw throughput; classes equal to the CPU's on "
                f"{m['classes_equal_cpu']:.1%} of the pixels",
                "—",
                None,
            ),
        ]
        notes = [
            gale_8k_note,
            "The device is synchronised before every clock stop; best of the runs, ours and "
            "the reference alternating. Inference runs in IEEE float32 (TF32 off, see "
            "`marsgis.ml.classifier`), so its classes can be compared with the CPU's.",
        ]
        return section_cls("GPU: CuPy terrain kernels and CUDA inference", rows, notes)


if __name__ == "__main__":
    import sys

    reason = cuda_unavailable()
    if reason is not None:
        print(json.dumps({"measured": False, "reason": reason}))
        sys.exit(0)
    print(json.dumps(bench_gpu_inference(), indent=2))
