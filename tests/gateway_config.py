"""dask-gateway-server configuration used by tests/test_compute_gateway.py (local processes).

Ports and the GPU offer come from the environment the test sets. The options mirror
hub/'s production options: worker cores, memory and GPUs, GPU workers declaring a ``GPU``
resource so that marsgis.ml inference lands on them.
"""

import os
import sys

from dask_gateway_server.options import Float, Integer, Options

c = get_config()  # noqa: F821  (traitlets config file)
c.DaskGateway.address = f"127.0.0.1:{os.environ['TEST_GATEWAY_PORT']}"
c.Proxy.address = f"127.0.0.1:{os.environ['TEST_GATEWAY_PROXY_PORT']}"
c.DaskGateway.backend_class = "dask_gateway_server.backends.local.UnsafeLocalBackend"
c.DaskGateway.authenticator_class = "dask_gateway_server.auth.SimpleAuthenticator"
bindir = os.path.dirname(sys.executable)
c.ClusterConfig.scheduler_cmd = [os.path.join(bindir, "dask"), "scheduler"]
c.ClusterConfig.worker_cmd = [os.path.join(bindir, "dask"), "worker"]
c.ClusterConfig.idle_timeout = 120


def _handler(options):
    env = {}
    gpus = getattr(options, "worker_gpus", 0)
    if gpus:
        # a dict literal keeps the resource name's case (env keys are lower-cased)
        env["DASK_DISTRIBUTED__WORKER__RESOURCES"] = repr({"GPU": gpus})
    return {
        "worker_cores": options.worker_cores,
        "worker_memory": int(options.worker_memory * 2**30),
        "environment": env,
    }


fields = [
    Integer("worker_cores", 1, min=1, max=2, label="Worker cores"),
    Float("worker_memory", 1, min=0.5, max=4, label="Worker memory (GiB)"),
]
if os.environ.get("TEST_GATEWAY_GPU") == "1":
    fields.append(Integer("worker_gpus", 0, min=0, max=1, label="GPUs per worker"))
c.Backend.cluster_options = Options(*fields, handler=_handler)
