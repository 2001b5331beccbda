"""Where the work runs: a dask LocalCluster sized to the machine, or a dask-gateway cluster.

``marsgis.compute.client()`` gives a :class:`distributed.Client`:

- with ``MARSGIS_GATEWAY_ADDRESS`` (or ``address=``) set, a cluster from that dask-gateway,
  asking for GPU workers when ``gpu=True`` (or ``MARSGIS_GPU=1``) and the gateway offers a GPU
  option — falling back to CPU workers, with a warning, when it does not;
- otherwise a :class:`distributed.LocalCluster` sized to this machine (one worker per core,
  one thread each, memory split evenly). With ``gpu=True`` (or ``MARSGIS_GPU=1``) and CUDA
  devices that PyTorch sees (``torch.cuda.device_count()``), one worker per device declares
  the resource ``GPU: 1`` (worker processes are pinned to their device with
  ``CUDA_VISIBLE_DEVICES``) and the others declare none, so GPU-annotated work
  (:func:`marsgis.ml.classify_raster`) runs only on those; without a CUDA device (or
  without PyTorch) no worker declares a GPU and that work runs on the CPU workers.

Scripts without ``if __name__ == "__main__":``
-----------------------------------------------
dask starts the worker processes of a LocalCluster with the ``spawn`` method
(``distributed.worker.multiprocessing-method``), and a spawned process re-imports the
parent's ``__main__`` module to rebuild it: a script without the guard — the README tour
pasted into ``tour.py`` — runs again, top to bottom, in every worker, adding its missions and
report runs once more each time. dask's own answer is the guard; ``fork`` would avoid the
re-import but is unsafe in a process that already runs dask's threads.

So by default (``processes=None``) ``client()`` chooses for the user: when ``__main__`` is a
file or module that spawned workers would re-run (``python script.py``, ``python -m mod``),
the LocalCluster's workers are threads of this process (``processes=False``; the terrain
kernels are numba/numpy code that releases the GIL, so threads still use every core); when
nothing would re-run (a notebook kernel, the REPL, ``python -c``), they are processes.
``processes=True`` asks for processes anyway — then guard the script.
"""

from __future__ import annotations

import math
import numbers
import os
import sys
import warnings
from dataclasses import dataclass
from typing import Any

from marsgis.config import settings
from marsgis.exceptions import DependencyNotFoundError, MarsGISError, ValidationError

__all__ = [
    "ClusterPlan",
    "add_gpu_workers",
    "client",
    "cuda_device_count",
    "local_cluster_plan",
    "main_reruns_in_workers",
]


@dataclass(frozen=True)
class ClusterPlan:
    """How a LocalCluster is sized: workers, threads per worker, memory per worker (bytes)."""

    n_workers: int
    threads_per_worker: int
    memory_limit: int


def _total_memory() -> int:
    try:
        import psutil

        return int(psutil.virtual_memory().total)
    except ImportError:  # psutil comes with distributed; this is only a fallback
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def _count(value: Any, what: str, fix: str) -> int | None:
    """``value`` as a whole number ≥ 1 (None stays None); anything else is refused."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValidationError(f"{what}={value!r} must be a whole number ≥ 1; {fix}")
    return int(value)


def _memory_gb(value: Any) -> float | None:
    """A worker memory in GiB: a number > 0 or a size such as ``"4GiB"`` / ``"500 MB"``."""
    if value is None:
        return None
    fix = "give a number of GiB > 0 (e.g. 4.0) or a size such as '4GiB' or '500 MB'"
    if isinstance(value, str):
        from dask.utils import parse_bytes

        try:
            size = float(parse_bytes(value)) / 2**30
        except (ValueError, TypeError, KeyError):
            raise ValidationError(
                f"worker_memory_gb={value!r} is not a memory size; {fix}"
            ) from None
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        size = float(value)
    else:
        raise ValidationError(f"worker_memory_gb={value!r} is not a memory size; {fix}")
    if not (math.isfinite(size) and size > 0):
        raise ValidationError(f"worker_memory_gb={value!r} must be more than 0; {fix}")
    return size


def local_cluster_plan(
    n_workers: int | None = None,
    memory_fraction: float = 0.8,
    *,
    threads_per_worker: int = 1,
) -> ClusterPlan:
    """Size a LocalCluster to the machine: one single-threaded worker per available core.

    Parameters
    ----------
    n_workers
        Workers (default: one per available core); a whole number ≥ 1.
    memory_fraction
        Share of the machine's memory the workers may use together, in (0, 1].
    threads_per_worker
        Threads of each worker, a whole number ≥ 1.

    Raises
    ------
    ValidationError
        A worker or thread count below 1 or not a whole number, or a memory fraction
        outside (0, 1]; the message names the value.

    Examples
    --------
    >>> local_cluster_plan(2, 0.5).n_workers
    2
    >>> local_cluster_plan(-1)
    Traceback (most recent call last):
    ...
    marsgis.exceptions.ValidationError: n_workers=-1 must be a whole number ≥ 1; ...
    """
    fix = "give None for one worker per core"
    workers_given = _count(n_workers, "n_workers", fix)
    threads = _count(threads_per_worker, "threads_per_worker", "the default is 1")
    if (
        isinstance(memory_fraction, bool)
        or not isinstance(memory_fraction, numbers.Real)
        or not 0.0 < float(memory_fraction) <= 1.0
    ):
        raise ValidationError(
            f"memory_fraction={memory_fraction!r} must be a share of the machine's memory in "
            "(0, 1], e.g. 0.8"
        )
    cores = (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    )
    workers = workers_given or cores
    memory = int(_total_memory() * float(memory_fraction) / workers)
    return ClusterPlan(n_workers=workers, threads_per_worker=threads or 1, memory_limit=memory)


def main_reruns_in_workers() -> bool:
    """Whether worker processes started now would re-run this program's ``__main__``.

    True for ``python script.py`` and ``python -m module`` when dask starts workers with
    ``spawn`` or ``forkserver`` (its default is ``spawn``): a spawned child re-imports
    ``__main__`` from its file or module name, as :mod:`multiprocessing.spawn` does.
    False in a notebook kernel, the REPL and ``python -c``, where there is nothing to re-run,
    and with the ``fork`` method.
    """
    import dask

    method = dask.config.get("distributed.worker.multiprocessing-method", "spawn")
    if method == "fork":
        return False
    main = sys.modules.get("__main__")
    if main is None:
        return False
    spec_name = getattr(getattr(main, "__spec__", None), "name", None)
    if spec_name is not None:  # python -m: re-imported by name, unless it is a __main__ module
        return not (spec_name == "__main__" or spec_name.endswith(".__main__"))
    return getattr(main, "__file__", None) is not None


def client(
    *,
    address: str | None = None,
    gpu: bool | None = None,
    n_workers: int | None = None,
    worker_cores: int | None = None,
    worker_memory_gb: float | str | None = None,
    processes: bool | None = None,
    set_as_default: bool = True,
) -> Any:
    """Return a dask.distributed Client for the configured cluster.

    Parameters
    ----------
    address
        dask-gateway address; default ``MARSGIS_GATEWAY_ADDRESS``. Unset → LocalCluster.
    gpu
        Ask for GPU workers (default ``MARSGIS_GPU``): from the gateway when it offers them;
        on a LocalCluster one worker per CUDA device declares ``GPU: 1`` (of the
        ``n_workers``), and with no CUDA device GPU work falls back to the CPU workers.
    n_workers
        LocalCluster workers, or the gateway cluster's initial scale; a whole number ≥ 1.
    worker_cores, worker_memory_gb
        Gateway cluster options, when the gateway exposes them: cores (threads) per worker,
        a whole number ≥ 1, and memory per worker, GiB > 0 or a size such as ``"4GiB"``.
    processes
        LocalCluster only: worker processes (True) or threads in this process (False).
        Default: processes, unless ``__main__`` is a script that worker processes would
        re-run (:func:`main_reruns_in_workers`; see the module docstring).
    set_as_default
        Make it the scheduler of every later ``.compute()`` in this process (dask's default);
        False for a client that only runs what is submitted to it (a server's job queue).

    Raises
    ------
    ValidationError
        A worker or core count below 1 or not a whole number (``n_workers=-1`` never quietly
        becomes one worker), or a memory size that does not parse or is not > 0.
    """
    n_workers = _count(n_workers, "n_workers", "give None for one worker per core")
    worker_cores = _count(worker_cores, "worker_cores", "give None for the gateway's default")
    worker_memory_gb = _memory_gb(worker_memory_gb)
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - distributed is a dependency
        raise DependencyNotFoundError(
            "dask.distributed is missing: pip install 'dask[distributed]'"
        ) from exc
    cfg = settings()
    address = address or cfg.gateway_address
    want_gpu = cfg.gpu if gpu is None else gpu
    if address:
        return _gateway_client(
            address,
            proxy_address=cfg.gateway_proxy_address,
            auth=cfg.gateway_auth,
            gpu=want_gpu,
            n_workers=n_workers,
            worker_cores=worker_cores,
            worker_memory_gb=worker_memory_gb,
            set_as_default=set_as_default,
        )
    plan = local_cluster_plan(n_workers)
    gpus = min(cuda_device_count(), plan.n_workers) if want_gpu else 0
    use_processes = (not main_reruns_in_workers()) if processes is None else processes
    # The client owns the LocalCluster it starts, so closing the client closes the cluster.
    local = Client(
        n_workers=plan.n_workers - gpus,
        threads_per_worker=plan.threads_per_worker,
        memory_limit=plan.memory_limit,
        processes=use_processes,
        dashboard_address=None,
        set_as_default=set_as_default,
    )
    if gpus:
        add_gpu_workers(local, gpus)
    return local


def cuda_device_count() -> int:
    """CUDA devices PyTorch sees here; 0 without PyTorch or a GPU."""
    try:
        import torch
    except ImportError:
        return 0
    return int(torch.cuda.device_count())


def add_gpu_workers(local: Any, count: int) -> None:
    """Add ``count`` workers declaring ``GPU: 1`` to the LocalCluster of client ``local``.

    Each is built like the cluster's other workers; worker processes see only their own
    device (``CUDA_VISIBLE_DEVICES``). Waits until they have joined.
    """
    cluster = local.cluster
    base = cluster.new_spec
    for index in range(count):
        options = {**base["options"], "resources": {"GPU": 1}, "name": f"gpu-{index}"}
        if "env" in options or base["cls"].__name__ == "Nanny":
            options["env"] = {**(options.get("env") or {}), "CUDA_VISIBLE_DEVICES": str(index)}
        cluster.worker_spec[f"gpu-{index}"] = {"cls": base["cls"], "options": options}
    total = len(cluster.worker_spec)
    cluster.scale(total)
    local.wait_for_workers(total)


def _gateway_client(
    address: str,
    *,
    proxy_address: str | None,
    auth: str | None,
    gpu: bool,
    n_workers: int | None,
    worker_cores: int | None,
    worker_memory_gb: float | None,
    set_as_default: bool,
) -> Any:
    try:
        from dask_gateway import Gateway
    except ImportError as exc:
        raise DependencyNotFoundError("dask-gateway is missing: pip install dask-gateway") from exc
    gateway = Gateway(address=address, proxy_address=proxy_address, auth=auth)
    try:
        options = gateway.cluster_options()
    except Exception as exc:  # aiohttp/ssl/HTTP errors: report where and how to fix
        raise MarsGISError(
            f"cannot reach the dask-gateway at {address!r}: {exc}; check MARSGIS_GATEWAY_ADDRESS "
            "or unset it to use a LocalCluster"
        ) from exc
    fields = set(options)
    if gpu:
        gpu_field = next((f for f in ("worker_gpus", "gpus", "gpu") if f in fields), None)
        if gpu_field is None:
            warnings.warn(
                f"the gateway at {address!r} offers no GPU option; using CPU workers",
                stacklevel=2,
            )
        else:
            options[gpu_field] = 1 if gpu_field != "gpu" else True
    if worker_cores is not None and "worker_cores" in fields:
        options["worker_cores"] = worker_cores
    if worker_memory_gb is not None and "worker_memory" in fields:
        options["worker_memory"] = worker_memory_gb
    cluster = gateway.new_cluster(options)
    if n_workers:
        cluster.scale(n_workers)
    return cluster.get_client(set_as_default=set_as_default)
