"""Glue between JupyterHub and marsgis, used by hub/jupyterhub_config.py (not a library module).

Everything here is read from ``MARSGIS_HUB_*`` environment variables (see :func:`hub_settings`
and docs/hub.md), so the same config file serves ``make hub`` on one machine and the
integration test on free ports with its own state directory and database.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

HUB_DIR = Path(__file__).resolve().parent
REPO = HUB_DIR.parent
VENV_BIN = Path(sys.executable).parent

#: The missions' hub groups, in the order of their privileges (admins count as scientists).
MISSION_GROUPS = ("scientists", "operators", "viewers")
#: The station's hub groups (issue 14), one per station role (marsgis.db.roles.HUB_GROUPS).
STATION_GROUPS = (
    "immigration-officers",
    "station-managers",
    "spaceline-dispatchers",
    "colony-officials",
    "auditors",
    "passengers",
)
#: Every hub group marsgis knows.
GROUPS = MISSION_GROUPS + STATION_GROUPS
#: Hub group -> what its members may do (the landing page and docs/hub.md say the same).
GROUP_DESCRIPTIONS = {
    "scientists": "JupyterLab, Dask clusters, create and edit missions",
    "operators": "dashboards and reports; change a mission's status",
    "viewers": "dashboards and reports, read-only",
    "immigration-officers": "the officer's queue: review and decide visa applications, "
    "issue and revoke visas, admit arrivals",
    "station-managers": "stations and docking bays, bay bookings, colony capacity overrides",
    "spaceline-dispatchers": "voyages, manifests and the bay timeline: book docking bays",
    "colony-officials": "a colony's capacity and residents",
    "auditors": "the station dashboards read-only, and the audit log",
    "passengers": "your own visa application, through the service API (no dashboards)",
}
#: Groups whose members may open the dashboards and reports (passengers use the API only).
DASHBOARD_GROUPS = tuple(g for g in GROUPS if g != "passengers")
GATEWAY_PREFIX = "/services/dask-gateway"
#: The service API's hub service name (reachable at /services/marsgis-api/api/v1/...).
API_SERVICE = "marsgis-api"
#: Hub role -> the marsgis role whose scopes (marsgis.api.scopes.ROLE_SCOPES) it grants.
MARSGIS_ROLES = {
    "marsgis-admin": "admin",
    "scientist": "scientist",
    "operator": "operator",
    "viewer": "viewer",
    "immigration-officer": "immigration_officer",
    "station-manager": "station_manager",
    "spaceline-dispatcher": "spaceline_dispatcher",
    "colony-official": "colony_official",
    "auditor": "auditor",
    "passenger": "passenger",
}
#: Station hub role -> (its group, its description on the hub).
STATION_HUB_ROLES = {
    "immigration-officer": ("immigration-officers", "Officer's queue: decide visa applications"),
    "station-manager": ("station-managers", "Stations, docking bays, capacity overrides"),
    "spaceline-dispatcher": ("spaceline-dispatchers", "Voyages, manifests, bay bookings"),
    "colony-official": ("colony-officials", "A colony's capacity and residents"),
    "auditor": ("auditors", "Station dashboards read-only; the audit log"),
    "passenger": ("passengers", "Their own visa application, through the service API"),
}


@dataclass(frozen=True)
class HubSettings:
    ip: str
    port: int
    hub_port: int
    proxy_api_port: int
    gateway_port: int
    gateway_proxy_port: int
    dashboards_port: int
    reports_port: int
    service_api_port: int
    state_dir: Path
    database_url: str
    role_prefix: str
    admin_users: frozenset[str]
    api_token: str | None
    dashboards_dir: Path
    reports_dir: Path
    scheduler: bool
    db_secret: str

    @property
    def public_url(self) -> str:
        return f"http://{self.ip}:{self.port}"

    @property
    def postgres(self) -> bool:
        return self.database_url.startswith("postgresql")


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name) or str(default)
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise SystemExit(f"{name}={value!r} is not a TCP port; unset it or give 1-65535")
    return int(value)


def _secret(env: Mapping[str, str], state_dir: Path) -> str:
    """The secret the per-role database passwords derive from (env, else a 0600 file)."""
    if env.get("MARSGIS_HUB_DB_SECRET"):
        return env["MARSGIS_HUB_DB_SECRET"]
    path = state_dir / "db_secret"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()


def hub_settings(env: Mapping[str, str] = os.environ) -> HubSettings:
    """Read the deployment from ``MARSGIS_HUB_*`` variables (defaults: ``make hub``)."""
    state_dir = Path(
        env.get("MARSGIS_HUB_STATE_DIR") or Path(platformdirs.user_data_dir("marsgis")) / "hub"
    )
    state_dir.mkdir(parents=True, exist_ok=True)
    admins = env.get("MARSGIS_HUB_ADMIN_USERS", "admin")
    return HubSettings(
        ip=env.get("MARSGIS_HUB_IP") or "127.0.0.1",
        port=_port(env, "MARSGIS_HUB_PORT", 8000),
        hub_port=_port(env, "MARSGIS_HUB_API_PORT", 8081),
        proxy_api_port=_port(env, "MARSGIS_HUB_PROXY_API_PORT", 8001),
        gateway_port=_port(env, "MARSGIS_HUB_GATEWAY_PORT", 8010),
        gateway_proxy_port=_port(env, "MARSGIS_HUB_GATEWAY_PROXY_PORT", 8011),
        dashboards_port=_port(env, "MARSGIS_HUB_DASHBOARDS_PORT", 8012),
        reports_port=_port(env, "MARSGIS_HUB_REPORTS_PORT", 8013),
        service_api_port=_port(env, "MARSGIS_HUB_SERVICE_API_PORT", 8014),
        state_dir=state_dir,
        database_url=env.get("MARSGIS_HUB_DATABASE_URL")
        or "postgresql+psycopg2://postgres@127.0.0.1:5432/marsgis",
        role_prefix=env.get("MARSGIS_HUB_DB_ROLE_PREFIX") or "marsgis",
        admin_users=frozenset(a.strip() for a in admins.split(",") if a.strip()),
        api_token=env.get("MARSGIS_HUB_API_TOKEN") or None,
        dashboards_dir=Path(env.get("MARSGIS_HUB_DASHBOARDS_DIR") or REPO / "dashboards"),
        reports_dir=Path(env.get("MARSGIS_HUB_REPORTS_DIR") or state_dir / "reports"),
        scheduler=(env.get("MARSGIS_HUB_SCHEDULER") or "1") not in {"0", "false", "no"},
        db_secret=_secret(env, state_dir),
    )


# ------------------------------------------------------------------------------ authenticator


class _NoTimer:
    def start(self) -> _NoTimer:
        return self

    def stop(self, send: bool = True) -> None:
        return None


class _NoStatsd:
    """JupyterHub 6 dropped ``handler.statsd``; NativeAuthenticator 1.3's login still times it."""

    def timer(self, name: str) -> _NoTimer:
        return _NoTimer()

    def incr(self, *args: Any, **kwargs: Any) -> None:
        return None


def native_authenticator(s: HubSettings | None = None) -> type:
    """NativeAuthenticator, fixed for JupyterHub 6, with the marsgis hub pages.

    * approving a sign-up at ``/hub/authorize/<name>`` also creates the hub user, so the admin
      can put them in a group at ``/hub/admin`` before their first login;
    * ``/hub/marsgis``: the landing page (:func:`home_handler`).
    """
    from nativeauthenticator import NativeAuthenticator
    from nativeauthenticator.handlers import LoginHandler, ToggleAuthorizationHandler
    from nativeauthenticator.orm import UserInfo

    class CompatLoginHandler(LoginHandler):
        statsd = _NoStatsd()

        def _render(self, login_error: Any = None, username: Any = None, **_: Any) -> Any:
            """hub/templates/native-login.html: JupyterHub's login form, marsgis-branded."""
            from tornado.escape import url_escape
            from tornado.httputil import url_concat

            nxt = self.get_argument("next", default="")
            return self.render_template(
                "native-login.html",
                next=url_escape(nxt),
                username=username or "",
                login_error=login_error,
                custom_html="",
                login_url=self.settings["login_url"],
                enable_signup=self.authenticator.enable_signup,
                two_factor_auth=self.authenticator.allow_2fa,
                authenticator=self.authenticator,
                authenticator_login_url=url_concat(
                    self.authenticator.login_url(self.hub.base_url), {"next": nxt}
                ),
                xsrf=self.xsrf_token.decode("ascii"),
            )

    class ApproveHandler(ToggleAuthorizationHandler):
        """Toggle a sign-up's approval; an approved person becomes a hub user at once."""

        async def get(self, slug: str) -> None:
            await super().get(slug)
            info = UserInfo.find(self.db, slug)
            if info is not None and info.is_authorized:
                self.user_from_username(slug)

    replace = {LoginHandler: CompatLoginHandler, ToggleAuthorizationHandler: ApproveHandler}
    if s is not None:
        pages = [(r"/marsgis", home_handler(s.dashboards_dir, s.admin_users))]
    else:  # Kubernetes (hub/k8s/jupyterhub-values.yaml): no local state to set up
        folder = os.environ.get("MARSGIS_HUB_DASHBOARDS_DIR") or REPO / "dashboards"
        pages = [(r"/marsgis", home_handler(Path(folder), frozenset()))]

    class MarsNativeAuthenticator(NativeAuthenticator):
        """NativeAuthenticator (sign-up approved by an admin), its login form fixed for JupyterHub 6."""

        def get_handlers(self, app: Any) -> list[Any]:
            return [
                (path, replace.get(handler, handler), *rest)
                for path, handler, *rest in super().get_handlers(app)
            ] + pages

    return MarsNativeAuthenticator


# ------------------------------------------------------------------------------ landing page

#: Where the landing page is, below the hub's base URL.
HOME_PATH = "hub/marsgis"


def dashboard_pages(folder: Path) -> list[tuple[str, str]]:
    """``(title, file name)`` of each dashboard in the dashboards dir, by title.

    The title is the notebook's first Markdown heading, else its file name.
    """
    import json

    out = []
    for path in sorted(folder.glob("*.ipynb")):
        title = path.stem.replace("-", " ").replace("_", " ").capitalize()
        try:
            cells = json.loads(path.read_text()).get("cells", [])
        except (OSError, ValueError):
            continue
        for cell in cells:
            if cell.get("cell_type") != "markdown":
                continue
            source = "".join(cell.get("source", ""))
            heading = next((ln for ln in source.splitlines() if ln.startswith("#")), None)
            if heading:
                title = heading.lstrip("#").strip()
            break
        out.append((title, path.name))
    return sorted(out)


def pages_for(
    groups: Iterable[str], pages: Iterable[tuple[str, str]], *, admin: bool
) -> list[tuple[str, str]]:
    """The dashboards (``(title, file name)``) a person of ``groups`` is offered.

    Admins and the missions' groups: every dashboard (operators and viewers read the station
    too). The station's staff: the station's dashboards (``station-*.ipynb``). Passengers
    (and people in no group): none; passengers use the service API.
    """
    mine = set(groups)
    if admin or mine & set(MISSION_GROUPS):
        return list(pages)
    if mine & set(DASHBOARD_GROUPS):
        return [(title, name) for title, name in pages if name.startswith("station-")]
    return []


def home_handler(dashboards_dir: Path, admin_users: Iterable[str]) -> type:
    """The landing page: the dashboards and reports a person may open, or why there are none.

    Operators, viewers and the station's groups arrive here after logging in
    (:func:`make_default_url`); scientists and admins find it from JupyterLab's hub menu. A
    person in no group sees that their account is approved, the groups and what each may do,
    and what to ask the admin for. Passengers see where their application lives (the API).
    """
    from jupyterhub.handlers import BaseHandler
    from jupyterhub.utils import url_path_join
    from tornado import web

    class MarsgisHomeHandler(BaseHandler):  # type: ignore[misc]
        @web.authenticated
        async def get(self) -> None:
            user = self.current_user
            groups = sorted(g.name for g in user.groups if g.name in GROUPS)
            base = self.base_url
            pages = pages_for(groups, dashboard_pages(dashboards_dir), admin=bool(user.admin))
            dashboards = [
                (title, url_path_join(base, "services/dashboards/voila/render", name))
                for title, name in pages
            ]
            html = await self.render_template(
                "marsgis-home.html",
                user=user,
                marsgis_groups=groups,
                dashboards=dashboards,
                reports_url=url_path_join(base, "services/reports/")
                if user.admin or set(groups) & set(DASHBOARD_GROUPS)
                else None,
                api_url=url_path_join(base, f"services/{API_SERVICE}/api/v1/station/applications"),
                passenger="passengers" in groups,
                lab_url=url_path_join(base, "hub/spawn")
                if user.admin or "scientists" in groups
                else None,
                group_names=GROUPS,
                group_descriptions=[(g, GROUP_DESCRIPTIONS[g]) for g in GROUPS],
                admin_users=sorted(admin_users) or ["your hub admin"],
            )
            self.finish(html)

    return MarsgisHomeHandler


# ------------------------------------------------------------------------------ database


def create_database_if_missing(url: str) -> None:
    """Create the PostGIS database of ``url`` (and the postgis extension) when it is missing."""
    import psycopg2
    from sqlalchemy.engine import make_url

    u = make_url(url)
    login = {"host": u.host, "port": u.port or 5432, "user": u.username, "password": u.password}
    try:
        admin = psycopg2.connect(dbname="postgres", connect_timeout=10, **login)
    except psycopg2.OperationalError as exc:
        raise SystemExit(
            f"cannot reach PostgreSQL for MARSGIS_HUB_DATABASE_URL={_redact(url)!r}: {exc}; "
            "start it (bash scripts/setup-system.sh) or point MARSGIS_HUB_DATABASE_URL at it"
        ) from exc
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (u.database,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{u.database}"')
    finally:
        admin.close()
    conn = psycopg2.connect(dbname=u.database, connect_timeout=10, **login)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    finally:
        conn.close()


def _redact(url: str) -> str:
    from marsgis.db.engine import redact_url

    return redact_url(url)


#: Login roles of the services that write as one scientist-level role. The API's login is also
#: a member of every level's group: it runs each request as its caller's group role
#: (``MARSGIS_API_DB_ROLES``, :func:`marsgis.db.as_role`), after its own scope check.
_WRITER_SERVICES = ("scheduler", "api")


def service_urls(s: HubSettings) -> dict[str, str]:
    """Database URLs of the service roles: ``dashboards-<level>``, ``scheduler`` and ``api``."""
    from marsgis.db import roles

    if not s.postgres:
        return {name: s.database_url for name in (*_dashboard_roles(), *_WRITER_SERVICES)}
    urls = {}
    for name in (*_dashboard_roles(), *_WRITER_SERVICES):
        role = roles.service_role(name.replace("-", "_"), prefix=s.role_prefix)
        password = roles.derive_password(s.db_secret, role)
        urls[name] = roles.user_database_url(s.database_url, role, password)
    return urls


def _dashboard_roles() -> tuple[str, ...]:
    from marsgis.db.roles import ALL_LEVELS

    return tuple(f"dashboards-{level}" for level in ALL_LEVELS)


def prepare_database(s: HubSettings) -> None:
    """Migrate the shared database, create the group roles and the services' login roles."""
    from marsgis.db import roles, upgrade

    if not s.postgres:
        print(
            f"marsgis hub: {_redact(s.database_url)!r} is not PostGIS: every server shares it "
            "and roles are NOT enforced (SpatiaLite is single-user); use PostGIS to share",
            file=sys.stderr,
        )
        upgrade(s.database_url)
        return
    create_database_if_missing(s.database_url)
    upgrade(s.database_url)
    roles.ensure_roles(s.database_url, prefix=s.role_prefix)
    for name in _dashboard_roles():
        level = name.split("-", 1)[1]
        _grant(s, roles.service_role(name.replace("-", "_"), prefix=s.role_prefix), [level])
    for name in _WRITER_SERVICES:
        levels = roles.ALL_LEVELS if name == "api" else ("scientist",)  # the API sets each role
        _grant(s, roles.service_role(name, prefix=s.role_prefix), levels)


def _grant(s: HubSettings, role: str, levels: Iterable[str]) -> str:
    """Create/refresh the login role ``role`` with ``levels``; its URL with its password."""
    from marsgis.db import roles

    password = roles.derive_password(s.db_secret, role)
    roles.grant_role(s.database_url, role, list(levels), password=password, prefix=s.role_prefix)
    return roles.user_database_url(s.database_url, role, password)


def levels_for(groups: Iterable[str], *, admin: bool) -> list[str]:
    """Database privilege levels of a hub user from their groups (admins: scientist).

    Every group counts, the station's too: an operator who is also an immigration officer
    gets both group roles (``["immigration_officer", "operator"]``).
    """
    from marsgis.db.roles import HUB_GROUPS

    levels = {HUB_GROUPS[g] for g in groups if g in HUB_GROUPS}
    if admin:
        levels.add("scientist")
    return sorted(levels)


def user_database_url(s: HubSettings, username: str, groups: Iterable[str], *, admin: bool) -> str:
    """Create/refresh ``username``'s login role with the grants of its groups; its URL."""
    from marsgis.db import roles

    if not s.postgres:
        return s.database_url
    return _grant(
        s, roles.user_role(username, prefix=s.role_prefix), levels_for(groups, admin=admin)
    )


# ------------------------------------------------------------------------------ spawner


def server_environment(s: HubSettings) -> dict[str, str]:
    """What every single-user server (and so every kernel) finds in its environment."""
    gateway = f"{s.public_url}{GATEWAY_PREFIX}"
    proxy = f"gateway://{s.ip}:{s.gateway_proxy_port}"
    return {
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "VIRTUAL_ENV": str(VENV_BIN.parent),
        # marsgis.compute.client() reads these (marsgis/config.py) ...
        "MARSGIS_GATEWAY_ADDRESS": gateway,
        "MARSGIS_GATEWAY_PROXY": proxy,
        "MARSGIS_GATEWAY_AUTH": "jupyterhub",
        # ... and dask_gateway.Gateway() with no arguments reads these (dask config)
        "DASK_GATEWAY__ADDRESS": gateway,
        "DASK_GATEWAY__PROXY_ADDRESS": proxy,
        "DASK_GATEWAY__PUBLIC_ADDRESS": f"{GATEWAY_PREFIX}/",
        "DASK_GATEWAY__AUTH__TYPE": "jupyterhub",
        "MARSGIS_REPORTS_DIR": str(s.reports_dir),
        **jupyter_paths(s),
    }


def jupyter_paths(s: HubSettings) -> dict[str, str]:
    """``JUPYTER_PATH``/``JUPYTER_CONFIG_PATH`` of the hub's Jupyter side (:func:`install_viz`)."""
    return {
        "JUPYTER_PATH": str(s.state_dir / "jupyter" / "share"),
        "JUPYTER_CONFIG_PATH": str(s.state_dir / "jupyter" / "etc"),
    }


def install_viz(s: HubSettings) -> bool:
    """Install marsgis.viz's Voila template (``marsgis``: no CDN) and tile server extension.

    Into the hub's state directory, not the virtual environment; servers and the dashboards
    service find them through :func:`jupyter_paths`. False when this marsgis has no viz yet.
    """
    try:
        from marsgis.viz.install import install
        from marsgis.viz.kernels import voila_config
    except ImportError:
        return False
    paths = jupyter_paths(s)
    install(
        data_dir=paths["JUPYTER_PATH"],
        config_dir=paths["JUPYTER_CONFIG_PATH"],
        kernel_limits=voila_config(**kernel_limits()),
    )
    return True


def kernel_limits(env: Mapping[str, str] = os.environ) -> dict[str, int]:
    """``MARSGIS_HUB_KERNEL*`` overrides of the dashboards' page-kernel limits (docs/hub.md)."""
    names = {
        "MARSGIS_HUB_KERNEL_CULL_IDLE_TIMEOUT": "cull_idle_timeout",
        "MARSGIS_HUB_KERNEL_CULL_INTERVAL": "cull_interval",
        "MARSGIS_HUB_KERNELS_PER_USER": "max_kernels_per_user",
    }
    out = {}
    for var, arg in names.items():
        value = env.get(var)
        if value:
            if not value.isdigit():
                raise SystemExit(f"{var}={value!r} is not a whole number of seconds/kernels")
            out[arg] = int(value)
    return out


def make_pre_spawn_hook(s: HubSettings) -> Any:
    """A ``Spawner.pre_spawn_hook`` giving the server its user's own database role."""

    async def pre_spawn_hook(spawner: Any) -> None:
        import asyncio

        user = spawner.user
        groups = [g.name for g in user.groups]
        url = await asyncio.get_running_loop().run_in_executor(
            None, lambda: user_database_url(s, user.name, groups, admin=bool(user.admin))
        )
        home = Path(spawner.home_dir)
        home.mkdir(parents=True, exist_ok=True)
        spawner.environment = {**spawner.environment, "MARSGIS_DATABASE_URL": url}
        spawner.log.info(
            "marsgis: %s gets database levels %s",
            user.name,
            levels_for(groups, admin=bool(user.admin)),
        )

    return pre_spawn_hook


def make_default_url(s: HubSettings) -> Any:
    """Scientists land in JupyterLab; everyone else on the landing page (``/hub/marsgis``)."""

    def default_url(handler: Any) -> str:
        from jupyterhub.utils import url_path_join

        user = handler.current_user
        if user is not None and (user.admin or any(g.name == "scientists" for g in user.groups)):
            return str(url_path_join(handler.base_url, "hub/spawn"))
        return str(url_path_join(handler.base_url, HOME_PATH))

    return default_url


# ------------------------------------------------------------------------------ services


def services(s: HubSettings) -> list[dict[str, Any]]:
    """The hub-managed services: dask-gateway, dashboards (Voila), reports, scheduler."""
    urls = service_urls(s)
    keep = {"PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"}
    out: list[dict[str, Any]] = [
        {
            "name": "dask-gateway",
            "url": f"http://127.0.0.1:{s.gateway_proxy_port}",
            "command": [
                str(VENV_BIN / "dask-gateway-server"),
                "-f",
                str(HUB_DIR / "dask_gateway_config.py"),
            ],
            "cwd": str(s.state_dir),
            "environment": {
                **keep,
                "MARSGIS_HUB_GATEWAY_PORT": str(s.gateway_port),
                "MARSGIS_HUB_GATEWAY_PROXY_PORT": str(s.gateway_proxy_port),
                "MARSGIS_HUB_STATE_DIR": str(s.state_dir),
                **{k: v for k, v in os.environ.items() if k.startswith("MARSGIS_HUB_CLUSTER_")},
            },
            "display": False,
        },
        {
            "name": "dashboards",
            "url": f"http://127.0.0.1:{s.dashboards_port}",
            "command": [sys.executable, str(HUB_DIR / "services" / "dashboards.py")],
            "cwd": str(s.dashboards_dir),
            "environment": {
                **keep,
                "MARSGIS_HUB_DASHBOARDS_DIR": str(s.dashboards_dir),
                "MARSGIS_HUB_DASHBOARDS_PORT": str(s.dashboards_port),
                "MARSGIS_REPORTS_DIR": str(s.reports_dir),
                **jupyter_paths(s),
                **{k: v for k, v in os.environ.items() if k.startswith("MARSGIS_HUB_KERNEL")},
                # the kernel default: read-only; each page's kernel gets its user's level
                "MARSGIS_DATABASE_URL": urls["dashboards-viewer"],
                **{
                    f"MARSGIS_HUB_DB_URL_{name.split('-')[1].upper()}": url
                    for name, url in urls.items()
                    if name.startswith("dashboards-")
                },
            },
            "oauth_no_confirm": True,
            "oauth_client_allowed_scopes": ["read:users:groups!user", "read:users:name!user"],
        },
        {
            "name": "reports",
            "url": f"http://127.0.0.1:{s.reports_port}",
            "command": [sys.executable, str(HUB_DIR / "services" / "reports.py")],
            "environment": {
                **keep,
                "MARSGIS_REPORTS_DIR": str(s.reports_dir),
                "MARSGIS_HUB_REPORTS_PORT": str(s.reports_port),
            },
            "oauth_no_confirm": True,
        },
    ]
    out.append(api_service(s, urls["api"], keep))
    if s.scheduler:
        out.append(scheduler_service(s, urls["scheduler"], keep))
    if s.api_token:
        out.append({"name": "provisioner", "api_token": s.api_token})
    return out


def scheduler_service(s: HubSettings, url: str, keep: dict[str, str]) -> dict[str, Any]:
    """``marsgis scheduler`` as a hub-managed process (no web UI), as the scheduler role."""
    marsgis = str(VENV_BIN / "marsgis")
    return {
        "name": "scheduler",
        "command": [marsgis, "scheduler", *_scheduler_args()],
        "cwd": str(s.state_dir),
        "environment": {
            **keep,
            "MARSGIS_DATABASE_URL": url,
            "MARSGIS_REPORTS_DIR": str(s.reports_dir),
            "HOME": str(s.state_dir),
        },
    }


def api_service(s: HubSettings, url: str, keep: dict[str, str]) -> dict[str, Any]:
    """``marsgis serve`` as a hub-managed service: hub tokens, marsgis scopes, the hub's prefix.

    The hub gives the process ``JUPYTERHUB_API_URL``, ``JUPYTERHUB_API_TOKEN`` and
    ``JUPYTERHUB_SERVICE_PREFIX``; ``marsgis serve`` reads them (marsgis/config.py) and then
    accepts hub tokens and answers at ``/services/marsgis-api/api/v1/...``.
    """
    return {
        "name": API_SERVICE,
        "url": f"http://127.0.0.1:{s.service_api_port}",
        "command": [str(VENV_BIN / "marsgis"), "serve", "--port", str(s.service_api_port)],
        "cwd": str(s.state_dir),
        "environment": {
            **keep,
            "MARSGIS_DATABASE_URL": url,
            # each request runs as its caller's database group role (PostGIS only)
            "MARSGIS_API_DB_ROLES": "1" if s.postgres else "0",
            "MARSGIS_DB_ROLE_PREFIX": s.role_prefix,
            "MARSGIS_DATA_DIR": str(s.state_dir / "api"),
            "MARSGIS_REPORTS_DIR": str(s.reports_dir),
            "HOME": str(s.state_dir),
        },
        "display": False,
        # tokens the hub issues to the API through OAuth carry the marsgis scopes
        "oauth_no_confirm": True,
        "oauth_client_allowed_scopes": sorted(marsgis_scopes("admin")),
    }


def custom_scopes() -> dict[str, dict[str, str]]:
    """``c.JupyterHub.custom_scopes``: marsgis.api.scopes' scopes and their descriptions."""
    from marsgis.api.scopes import SCOPE_DESCRIPTIONS

    return {scope: {"description": text} for scope, text in sorted(SCOPE_DESCRIPTIONS.items())}


def marsgis_scopes(role: str) -> list[str]:
    """The marsgis custom scopes a marsgis role (admin, scientist, ...) grants, sorted.

    ``role`` may also be a hub role of :data:`MARSGIS_ROLES` (``immigration-officer``).
    """
    from marsgis.api.scopes import ROLE_SCOPES

    return sorted(ROLE_SCOPES[MARSGIS_ROLES.get(role, role)])


def _scheduler_args() -> list[str]:
    extra = os.environ.get("MARSGIS_HUB_SCHEDULER_ARGS", "")
    return extra.split() if extra else []


def scheduler_available() -> bool:
    """Whether this marsgis has the ``marsgis scheduler`` command yet."""
    import importlib.util

    return importlib.util.find_spec("marsgis.cli.scheduler") is not None and bool(
        shutil.which("marsgis", path=str(VENV_BIN))
    )


def roles_config(s: HubSettings) -> list[dict[str, Any]]:
    """JupyterHub roles: who may start a server, reach which service, start Dask clusters.

    Each group's role also grants the marsgis custom scopes of its marsgis role (the service
    API checks those, never group names); admins get every marsgis scope (``marsgis-admin``).
    The station's groups (:data:`STATION_HUB_ROLES`) reach the dashboards, the reports and the
    API, no server; passengers reach the API only.
    """
    api = f"access:services!service={API_SERVICE}"
    web = ["access:services!service=dashboards", "access:services!service=reports", api]
    out: list[dict[str, Any]] = [
        {
            # every user: their own name and groups, their own tokens; no server by default
            "name": "user",
            "scopes": ["read:users:name!user", "read:users:groups!user", "tokens!user"],
        },
        {
            "name": "scientist",
            "description": "JupyterLab, Dask clusters, create and edit missions",
            "scopes": [
                "self",
                *web,
                "access:services!service=dask-gateway",
                *marsgis_scopes("scientist"),
            ],
            "groups": ["scientists"],
        },
        {
            "name": "operator",
            "description": "Dashboards and reports; change mission status",
            "scopes": [*web, *marsgis_scopes("operator")],
            "groups": ["operators"],
        },
        {
            "name": "viewer",
            "description": "Read-only dashboards and reports",
            "scopes": [*web, *marsgis_scopes("viewer")],
            "groups": ["viewers"],
        },
        *(
            {
                "name": name,
                "description": description,
                # passengers: their own application through the API, no dashboards
                "scopes": [*([api] if group == "passengers" else web), *marsgis_scopes(name)],
                "groups": [group],
            }
            for name, (group, description) in STATION_HUB_ROLES.items()
        ),
        {
            "name": "marsgis-admin",
            "description": "Hub admins: every marsgis scope in the service API",
            "scopes": [api, *marsgis_scopes("admin")],
            "users": sorted(s.admin_users),
        },
    ]
    if s.api_token:
        out.append(
            {
                "name": "provisioner",
                "description": "Automation token (MARSGIS_HUB_API_TOKEN): users, groups, servers",
                "scopes": [
                    "admin:users",
                    "admin:groups",
                    "admin:servers",
                    "tokens",
                    "list:services",
                    "read:services",
                    "read:hub",
                ],
                "services": ["provisioner"],
            }
        )
    return out


def server_token_scopes(spawner: Any) -> list[str]:
    """Scopes of ``$JUPYTERHUB_API_TOKEN`` in a server: the dask-gateway accepts it."""
    return [
        "users:activity!user",
        "access:servers!server",
        "read:users:name!user",
        "read:users:groups!user",
        "access:services!service=dask-gateway",
    ]
