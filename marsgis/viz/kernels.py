"""Bounded dashboard kernels: idle culling and a cap on the kernels each person holds.

Every Voila page runs in its own kernel (a Python process holding the dashboard's data), and
Voila frees it only when the page says goodbye; a tab closed abruptly, a dropped connection or a
browser that never runs the page's unload handler leaves it behind. Two settings bound that:

* **culling** (Jupyter server's ``MappingKernelManager``): every ``cull_interval`` seconds, a
  kernel with no open connection and no activity for ``cull_idle_timeout`` seconds is shut down
  (``cull_connected = False``: a page still open in a tab is never taken away);
* **a cap per person** (:class:`CappedKernelManager`): a person may hold at most
  ``max_kernels_per_user`` page kernels; opening one more first reclaims their own kernels that
  no page is connected to any more (older than ``reclaim_after`` seconds), and if they still
  hold the cap, the page answers 429 with a message saying what to do.

Who "a person" is comes from :data:`kernel_owner`, which the hub's dashboards service sets
from the hub user before Voila starts the page's kernel (hub/services/dashboards.py); a
standalone ``make dashboards`` has one anonymous owner, so the cap is the server's total.

:func:`voila_config` is the configuration both use: ``python -m marsgis.viz.install`` writes it
as ``voila.json`` (read by ``make dashboards``) and the hub's dashboards service applies it.
"""

from __future__ import annotations

import contextvars
import time
from datetime import UTC, datetime
from typing import Any

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado.web import HTTPError
from traitlets import Float, Integer

__all__ = [
    "CULL_IDLE_TIMEOUT",
    "CULL_INTERVAL",
    "MAX_KERNELS_PER_USER",
    "CappedKernelManager",
    "kernel_owner",
    "voila_config",
]

#: Seconds a page kernel may sit idle with no page connected before it is shut down.
CULL_IDLE_TIMEOUT = 600
#: Seconds between two culling passes.
CULL_INTERVAL = 60
#: Page kernels one person may hold at once.
MAX_KERNELS_PER_USER = 4

#: The owner of the kernel about to be started (the hub user's name; "" when standalone).
kernel_owner: contextvars.ContextVar[str] = contextvars.ContextVar("kernel_owner", default="")


class CappedKernelManager(AsyncMappingKernelManager):  # type: ignore[misc]
    """Voila's kernel manager with at most ``max_kernels_per_user`` kernels per owner."""

    max_kernels_per_user = Integer(
        MAX_KERNELS_PER_USER,
        config=True,
        help="Page kernels one person may hold at once (0: no cap).",
    )
    reclaim_after = Float(
        10.0,
        config=True,
        help="Seconds of inactivity after which a kernel no page is connected to may be "
        "reclaimed when its owner reaches the cap.",
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._owners: dict[str, str] = {}
        self._started: dict[str, float] = {}

    def kernels_of(self, owner: str) -> list[str]:
        """Ids of the live kernels of ``owner``, oldest first."""
        for gone in [k for k in self._owners if k not in self._kernels]:
            self._owners.pop(gone, None)
            self._started.pop(gone, None)
        live = [k for k, o in self._owners.items() if o == owner and k in self._kernels]
        return sorted(live, key=lambda k: self._started.get(k, 0.0))

    async def _reclaim(self, owner: str) -> None:
        """Shut down ``owner``'s kernels no page is connected to, idle for ``reclaim_after`` s.

        A page's kernel runs the notebook before the page connects to it (busy, so active):
        the idle time keeps a page still being rendered from being reclaimed.
        """
        for kid in self.kernels_of(owner):
            kernel = self._kernels[kid]
            last = getattr(kernel, "last_activity", None)
            idle = (
                last is not None
                and (datetime.now(UTC) - last).total_seconds() >= self.reclaim_after
            )
            if (
                self._kernel_connections.get(kid, 0) == 0
                and idle
                and getattr(kernel, "execution_state", "") != "busy"
            ):
                self.log.info("marsgis: reclaiming unconnected kernel %s (owner %r)", kid, owner)
                await self.shutdown_kernel(kid)

    async def start_kernel(  # type: ignore[override]
        self, *, kernel_id: str | None = None, **kwargs: Any
    ) -> str:
        """Start a kernel for :data:`kernel_owner`; HTTP 429 when the owner holds the cap."""
        owner = kernel_owner.get()
        cap = int(self.max_kernels_per_user)
        if kernel_id is None and cap > 0:
            if len(self.kernels_of(owner)) >= cap:
                await self._reclaim(owner)
            held = len(self.kernels_of(owner))
            if held >= cap:
                who = f"{owner!r} holds" if owner else "this server holds"
                raise HTTPError(
                    429,
                    reason="Too many dashboard pages open",
                    log_message=(
                        f"{who} {held} dashboard kernels, the limit "
                        f"(CappedKernelManager.max_kernels_per_user = {cap}); close a dashboard "
                        f"tab, or wait up to {int(self.cull_idle_timeout) + int(self.cull_interval)}"
                        " s for the closed ones to be freed, then reload"
                    ),
                )
        kid = str(await super().start_kernel(kernel_id=kernel_id, **kwargs))
        self._owners[kid] = owner
        self._started.setdefault(kid, time.monotonic())
        return kid


def voila_config(
    *,
    cull_idle_timeout: int = CULL_IDLE_TIMEOUT,
    cull_interval: int = CULL_INTERVAL,
    max_kernels_per_user: int = MAX_KERNELS_PER_USER,
    reclaim_after: float = 10.0,
) -> dict[str, dict[str, Any]]:
    """The Voila configuration (``voila.json`` form) that bounds page kernels.

    Examples
    --------
    >>> cfg = voila_config(cull_idle_timeout=5)
    >>> cfg["MappingKernelManager"]["cull_idle_timeout"], cfg["MappingKernelManager"]["cull_connected"]
    (5, False)
    >>> cfg["VoilaConfiguration"]["multi_kernel_manager_class"]
    'marsgis.viz.kernels.CappedKernelManager'
    """
    return {
        "VoilaConfiguration": {
            "multi_kernel_manager_class": f"{__name__}.{CappedKernelManager.__name__}",
        },
        "MappingKernelManager": {
            "cull_idle_timeout": cull_idle_timeout,
            "cull_interval": cull_interval,
            "cull_connected": False,
            "cull_busy": False,
        },
        "CappedKernelManager": {
            "max_kernels_per_user": max_kernels_per_user,
            "reclaim_after": reclaim_after,
        },
    }
