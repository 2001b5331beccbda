"""dask-gateway-server, run by JupyterHub as the managed service ``dask-gateway`` (one machine).

Users reach it through the hub at ``/services/dask-gateway`` and authenticate with their
JupyterHub token (their server's ``$JUPYTERHUB_API_TOKEN``); only tokens with
``access:services!service=dask-gateway`` (the ``scientist`` role) may create clusters.

Backend: ``UnsafeLocalBackend`` runs every scheduler and worker as a local process of the
hub's own unix user. That is right for one machine where the hub already runs all servers as
one user (SimpleLocalProcessSpawner); ``LocalBackend`` would need a unix account per hub
user, and hub/k8s/dask-gateway-values.yaml is the Kubernetes backend for real isolation.

Cluster options: worker cores, worker memory and, where the machine has GPUs
(``MARSGIS_HUB_CLUSTER_GPUS`` > 0, default: what ``nvidia-smi -L`` lists), GPUs per worker.
GPU workers declare the dask resource ``GPU`` (as ``dask worker --resources GPU=n`` does), so
marsgis.ml inference annotated with ``resources={"GPU": 1}`` runs only on them.
"""

import os
import shutil
import subprocess
import sys

from dask_gateway_server.options import Float, Integer, Options

c = get_config()  # noqa: F821  (traitlets config file)
env = os.environ


def _gpus() -> int:
    if env.get("MARSGIS_HUB_CLUSTER_GPUS"):
        return int(env["MARSGIS_HUB_CLUSTER_GPUS"])
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return 0
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(1 for line in out.stdout.splitlines() if line.startswith("GPU "))


CORES = os.cpu_count() or 1
GPUS = _gpus()
MAX_WORKER_CORES = int(env.get("MARSGIS_HUB_CLUSTER_MAX_WORKER_CORES") or CORES)
MAX_WORKER_MEMORY_GB = float(env.get("MARSGIS_HUB_CLUSTER_MAX_WORKER_MEMORY_GB") or 8)

# the private API, and the public proxy (HTTP API under the hub's service prefix + scheduler TLS)
c.DaskGateway.address = f"127.0.0.1:{env.get('MARSGIS_HUB_GATEWAY_PORT', '8010')}"
c.Proxy.address = f"127.0.0.1:{env.get('MARSGIS_HUB_GATEWAY_PROXY_PORT', '8011')}"
c.Proxy.prefix = "/services/dask-gateway"
c.DaskGateway.authenticator_class = "dask_gateway_server.auth.JupyterHubAuthenticator"
c.JupyterHubAuthenticator.jupyterhub_service_name = "dask-gateway"

c.DaskGateway.backend_class = "dask_gateway_server.backends.local.UnsafeLocalBackend"
state = env.get("MARSGIS_HUB_STATE_DIR")
if state:
    c.LocalBackend.clusters_directory = os.path.join(state, "dask-gateway")
bindir = os.path.dirname(sys.executable)
c.ClusterConfig.scheduler_cmd = [os.path.join(bindir, "dask"), "scheduler"]
c.ClusterConfig.worker_cmd = [os.path.join(bindir, "dask"), "worker"]

# idle clusters (no client, no tasks) shut down; per-user limits
c.ClusterConfig.idle_timeout = float(env.get("MARSGIS_HUB_CLUSTER_IDLE_TIMEOUT") or 1800)
c.ClusterConfig.cluster_max_workers = int(env.get("MARSGIS_HUB_CLUSTER_MAX_WORKERS") or CORES)
c.UserLimits.max_clusters = int(env.get("MARSGIS_HUB_CLUSTER_MAX_CLUSTERS") or 2)
# a user's clusters together: the machine's cores, plus one for a scheduler
c.UserLimits.max_cores = float(env.get("MARSGIS_HUB_CLUSTER_MAX_CORES") or CORES + 1)
c.UserLimits.max_memory = f"{env.get('MARSGIS_HUB_CLUSTER_MAX_MEMORY_GB') or 16} G"


def _handler(options, user):
    environment = {}
    gpus = getattr(options, "worker_gpus", 0)
    if gpus:
        # the dict literal keeps the resource name's case (dask lower-cases env keys)
        environment["DASK_DISTRIBUTED__WORKER__RESOURCES"] = repr({"GPU": gpus})
    return {
        "worker_cores": options.worker_cores,
        "worker_memory": int(options.worker_memory * 2**30),
        "environment": environment,
    }


fields = [
    Integer("worker_cores", 1, min=1, max=MAX_WORKER_CORES, label="Worker cores"),
    Float("worker_memory", 1, min=0.5, max=MAX_WORKER_MEMORY_GB, label="Worker memory (GiB)"),
]
if GPUS > 0:
    fields.append(Integer("worker_gpus", 0, min=0, max=GPUS, label="GPUs per worker"))
c.Backend.cluster_options = Options(*fields, handler=_handler)
