"""The ``dashboards`` hub service: Voila serving dashboards/, behind JupyterHub OAuth.

Run by JupyterHub (hub/jupyterhub_config.py), which hands it ``JUPYTERHUB_*`` (OAuth client,
service prefix, the access scope ``access:services!service=dashboards``) and the database URLs
of the dashboard roles (one per level). Who gets in: users whose roles grant that scope (every
group but passengers). JupyterHub's own identity provider for Jupyter servers does the OAuth.

Each page a user opens runs in a fresh kernel that connects to the database as the dashboard
role of the user's highest group (``prelaunch_hook``; on a station page the user's station
group first): an operator's page can change a mission's status, a viewer's page cannot, an
immigration officer's queue can decide, an auditor's cannot, because PostgreSQL refuses it
(marsgis.db.roles). Kernels
inherit this process's environment, so the per-level URLs are removed from it at start-up, and
Voila lets the browser run no code of its own in those kernels (only widget messages).

Page kernels are bounded (marsgis.viz.kernels): one idle with no page connected is culled, and
each user holds at most a few; ``MARSGIS_HUB_KERNEL_CULL_IDLE_TIMEOUT``,
``MARSGIS_HUB_KERNEL_CULL_INTERVAL`` and ``MARSGIS_HUB_KERNELS_PER_USER`` change the limits.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

import nbformat
from jupyterhub.singleuser.extension import (
    JupyterHubAuthorizer,
    JupyterHubIdentityProvider,
    JupyterHubOAuthCallbackHandler,
)
from jupyterhub.utils import url_path_join
from traitlets.config import Config
from voila.app import Voila

# the levels (missions', most powerful first, then the station's) and hub group -> level
from marsgis.db.roles import ALL_LEVELS as LEVELS
from marsgis.db.roles import HUB_GROUPS as GROUP_LEVEL
from marsgis.db.roles import LEVELS as MISSION_LEVELS
from marsgis.db.roles import STATION_LEVELS

try:  # culled page kernels, a cap per user (marsgis.viz.kernels)
    from marsgis.viz.kernels import kernel_owner, voila_config
except ImportError:  # a marsgis without it: Voila's defaults
    kernel_owner, voila_config = None, None

PREFIX = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/dashboards/")


def dashboard_database_urls(env: dict[str, str] | Any = os.environ) -> dict[str, str]:
    """The database URL of each level's dashboard role, removed from ``env``.

    Given directly (``MARSGIS_HUB_DB_URL_<LEVEL>``, the single-machine hub) or derived like the
    hub derives them (``MARSGIS_HUB_DB_SECRET`` and ``MARSGIS_HUB_DATABASE_URL``, Kubernetes).
    Popped: the page kernels, started with this process's environment, never see them.
    """
    urls = {level: env.pop(f"MARSGIS_HUB_DB_URL_{level.upper()}", "") for level in LEVELS}
    secret = env.pop("MARSGIS_HUB_DB_SECRET", "")
    base = env.pop("MARSGIS_HUB_DATABASE_URL", "")
    if secret and base:
        from marsgis.db import roles

        prefix = env.get("MARSGIS_HUB_DB_ROLE_PREFIX") or roles.DEFAULT_PREFIX
        for level in LEVELS:
            role = roles.service_role(f"dashboards_{level}", prefix=prefix)
            password = roles.derive_password(secret, role)
            urls[level] = urls[level] or roles.user_database_url(base, role, password)
    if urls["viewer"]:
        env.setdefault("MARSGIS_DATABASE_URL", urls["viewer"])  # the kernels' default: read-only
    return urls


DB_URLS = dashboard_database_urls()


class ServiceIdentityProvider(JupyterHubIdentityProvider):
    """JupyterHub OAuth for a Voila app mounted at the service prefix."""

    def get_handlers(self) -> list[Any]:
        return [
            (url_path_join(PREFIX, "logout"), self.logout_handler_class),
            (
                url_path_join(PREFIX, "oauth_callback"),
                JupyterHubOAuthCallbackHandler,
                {"hub_auth": self.hub_auth},
            ),
        ]


def level_of(hub_user: dict[str, Any], page: str = "") -> str:
    """The level whose dashboard role a hub user's page kernel connects as (admins: scientist).

    On a station page (``station-*.ipynb``) the user's station level comes first (an operator
    who is also an immigration officer decides on the officer's queue as the officer), on
    any other page the missions' levels; then the highest of the others; ``viewer`` for a
    user in no group.
    """
    levels = {GROUP_LEVEL[g] for g in hub_user.get("groups") or () if g in GROUP_LEVEL}
    if hub_user.get("admin"):
        levels.add("scientist")
    name = page.rsplit("/", 1)[-1]
    order = STATION_LEVELS + MISSION_LEVELS if name.startswith("station-") else LEVELS
    return next((level for level in order if level in levels), "viewer")


def prelaunch_hook(handler: Any, notebook: Any, cwd: str) -> Any:
    """Give the page's kernel the database role of the user who opened it."""
    user = handler.current_user
    hub_user = getattr(user, "hub_user", None) or {}
    page = str(getattr(getattr(handler, "request", None), "path", "") or "")
    level = level_of(hub_user, page)
    url = DB_URLS.get(level) or os.environ.get("MARSGIS_DATABASE_URL", "")
    source = (
        "import os as _os\n"
        f"_os.environ['MARSGIS_DATABASE_URL'] = {url!r}\n"
        f"_os.environ['MARSGIS_HUB_USER'] = {hub_user.get('name', '')!r}\n"
        f"_os.environ['JUPYTERHUB_USER'] = {hub_user.get('name', '')!r}\n"
        f"_os.environ['MARSGIS_HUB_LEVEL'] = {level!r}\n"
        "del _os"
    )
    if kernel_owner is not None:  # the page's kernel counts against this user's cap
        kernel_owner.set(str(hub_user.get("name", "")))
    cell = nbformat.v4.new_code_cell(source=source)
    cell.metadata["tags"] = ["marsgis-hub-session"]
    notebook.cells.insert(0, cell)
    return notebook


class DashboardsVoila(Voila):
    """Voila plus the marsgis basemap tiles below the service prefix (marsgis.viz.server)."""

    def init_handlers(self) -> list[Any]:
        handlers = list(super().init_handlers())
        try:
            from marsgis.viz.server import tile_handlers
        except ImportError:  # a marsgis without marsgis.viz: dashboards without a basemap
            return handlers
        return [*tile_handlers(self.base_url), *handlers]


def _kernel_limits() -> dict[str, int]:
    """``MARSGIS_HUB_KERNEL_*`` overrides of the page-kernel limits (docs/hub.md)."""
    names = {
        "MARSGIS_HUB_KERNEL_CULL_IDLE_TIMEOUT": "cull_idle_timeout",
        "MARSGIS_HUB_KERNEL_CULL_INTERVAL": "cull_interval",
        "MARSGIS_HUB_KERNELS_PER_USER": "max_kernels_per_user",
    }
    return {arg: int(os.environ[var]) for var, arg in names.items() if os.environ.get(var)}


def _has_template(name: str) -> bool:
    from jupyter_core.paths import jupyter_path

    return any(os.path.isdir(os.path.join(p, name)) for p in jupyter_path("voila", "templates"))


def main() -> None:
    root = os.environ.get("MARSGIS_HUB_DASHBOARDS_DIR") or os.getcwd()
    os.makedirs(root, exist_ok=True)
    c = Config()
    c.Voila.ip = os.environ.get("MARSGIS_HUB_SERVICE_IP", "127.0.0.1")
    c.Voila.port = int(os.environ.get("MARSGIS_HUB_DASHBOARDS_PORT", "8012"))
    c.Voila.port_retries = 0
    c.Voila.open_browser = False
    c.Voila.base_url = PREFIX
    c.Voila.auto_token = True  # no Voila token: JupyterHub authenticates
    c.Voila.identity_provider_class = ServiceIdentityProvider
    c.Voila.authorizer_class = JupyterHubAuthorizer
    c.VoilaConfiguration.prelaunch_hook = prelaunch_hook
    c.VoilaConfiguration.show_tracebacks = False
    if _has_template("marsgis"):  # marsgis.viz's offline template: no CDN on any page
        c.VoilaConfiguration.template = "marsgis"
    limits: list[str] = []
    if voila_config is not None:  # idle page kernels culled, at most a few per user
        # as command-line options: those rank above the voila.json that `make setup` installs
        # in the environment's etc/jupyter (a config object passed in would rank below it)
        limits = [
            f"--{section}.{name}={value}"
            for section, values in voila_config(**_kernel_limits()).items()
            for name, value in values.items()
        ]
    c.VoilaConfiguration.file_allowlist = [r".*\.(png|jpg|gif|svg|geojson|json|csv|html)"]
    # the hub stops services with SIGINT first (a shell may have ignored it for us); Voila
    # handles SIGTERM itself
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # the page kernels (children of this process) fetch tiles from this service, through the hub
    os.environ["MARSGIS_TILE_URL"] = url_path_join(PREFIX, "marsgis/tiles/{z}/{x}/{y}.png")
    os.environ["MARSGIS_TILE_SERVER_PID"] = str(os.getpid())
    DashboardsVoila.launch_instance(argv=[root, *limits, *sys.argv[1:]], config=c)


if __name__ == "__main__":
    main()
