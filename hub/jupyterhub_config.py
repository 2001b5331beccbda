"""JupyterHub for marsgis on one machine: ``make hub`` (``jupyterhub -f hub/jupyterhub_config.py``).

- configurable-http-proxy (npm) in front, on http://127.0.0.1:8000 by default;
- NativeAuthenticator: people sign up at /hub/signup, an admin approves them at
  /hub/authorize and puts them in a group (scientists, operators, viewers, or one of the
  station's: immigration-officers, station-managers, spaceline-dispatchers, colony-officials,
  auditors, passengers) at /hub/admin;
- one single-user server per scientist, started from this project's own .venv (marsgis
  importable), as the hub's unix user (SimpleLocalProcessSpawner: no per-user isolation on one
  machine, see docs/hub.md);
- services: dask-gateway (Dask clusters, JupyterHub auth), dashboards (Voila behind hub
  OAuth), reports (report outputs behind hub OAuth), scheduler (``marsgis scheduler``),
  marsgis-api (``marsgis serve``: hub tokens, marsgis custom scopes, /services/marsgis-api/);
- the shared database is PostGIS; each server connects as its user's own PostgreSQL role whose
  grants follow the user's group, and the database refuses what the role may not do.

Every setting comes from ``MARSGIS_HUB_*`` environment variables (see docs/hub.md and
hub/marsgis_hub.py). To log in with an OAuth provider instead, see the end of this file.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import marsgis_hub
import nativeauthenticator

c = get_config()  # noqa: F821  (traitlets config file)
s = marsgis_hub.hub_settings()
marsgis_hub.prepare_database(s)
marsgis_hub.install_viz(s)  # the offline Voila template and the basemap tile endpoint

# --- network: everything on localhost, the proxy is the only public door
c.JupyterHub.ip = s.ip
c.JupyterHub.port = s.port
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = s.hub_port
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{s.proxy_api_port}"
c.ConfigurableHTTPProxy.pid_file = str(s.state_dir / "jupyterhub-proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{s.state_dir / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(s.state_dir / "jupyterhub_cookie_secret")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every server and service
c.JupyterHub.default_url = marsgis_hub.make_default_url(s)

# --- who: sign-up approved by an admin
# NativeAuthenticator, with its login form made to work on JupyterHub 6 (hub/marsgis_hub.py)
c.JupyterHub.authenticator_class = marsgis_hub.native_authenticator(s)
# marsgis's pages (hub/templates: login, landing page, header) before NativeAuthenticator's
c.JupyterHub.template_paths = [
    str(marsgis_hub.HUB_DIR / "templates"),
    str(Path(nativeauthenticator.__file__).parent / "templates"),
]
c.NativeAuthenticator.open_signup = False  # an admin approves each sign-up at /hub/authorize
c.NativeAuthenticator.minimum_password_length = 10
c.NativeAuthenticator.check_common_password = True
c.NativeAuthenticator.allowed_failed_logins = 5
c.NativeAuthenticator.seconds_before_next_try = 60
c.Authenticator.admin_users = set(s.admin_users)
c.Authenticator.allow_all = True  # every approved user; what they may do comes from groups

# --- groups and roles (what a group may do on the hub; the database enforces the data side)
c.JupyterHub.load_groups = {g: {"users": []} for g in marsgis_hub.GROUPS}
# the marsgis scopes (marsgis.api.scopes) as hub custom scopes; the roles below grant them
c.JupyterHub.custom_scopes = marsgis_hub.custom_scopes()
c.JupyterHub.load_roles = marsgis_hub.roles_config(s)

# --- servers: the project's own .venv, JupyterLab, the user's database role and the gateway
c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
c.SimpleLocalProcessSpawner.home_dir_template = str(s.state_dir / "home" / "{username}")
c.Spawner.cmd = [str(marsgis_hub.VENV_BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
if os.getuid() == 0:  # a container or CI runner as root: jupyter-server refuses without this
    c.Spawner.args = ["--allow-root"]
c.Spawner.environment = marsgis_hub.server_environment(s)
c.Spawner.pre_spawn_hook = marsgis_hub.make_pre_spawn_hook(s)
c.Spawner.server_token_scopes = marsgis_hub.server_token_scopes
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180
c.JupyterHub.init_spawners_timeout = 30

# --- services run and stopped by the hub
c.JupyterHub.services = marsgis_hub.services(s)
if s.scheduler and not marsgis_hub.scheduler_available():
    print(
        "marsgis hub: this marsgis has no `marsgis scheduler` yet; no scheduler service",
        file=sys.stderr,
    )
    c.JupyterHub.services = [v for v in c.JupyterHub.services if v["name"] != "scheduler"]

# --- logging in with an OAuth provider instead of NativeAuthenticator
# pip install oauthenticator, then replace the "who" block above with e.g. (Keycloak, GitLab...):
#
#   c.JupyterHub.authenticator_class = "generic-oauth"
#   c.GenericOAuthenticator.oauth_callback_url = "https://hub.example/hub/oauth_callback"
#   c.GenericOAuthenticator.client_id = os.environ["OAUTH_CLIENT_ID"]
#   c.GenericOAuthenticator.client_secret = os.environ["OAUTH_CLIENT_SECRET"]
#   c.GenericOAuthenticator.authorize_url = "https://sso.example/realms/mars/protocol/openid-connect/auth"
#   c.GenericOAuthenticator.token_url = "https://sso.example/realms/mars/protocol/openid-connect/token"
#   c.GenericOAuthenticator.userdata_url = "https://sso.example/realms/mars/protocol/openid-connect/userinfo"
#   c.GenericOAuthenticator.username_claim = "preferred_username"
#   c.GenericOAuthenticator.scope = ["openid", "profile", "groups"]
#   c.GenericOAuthenticator.manage_groups = True            # hub groups from the provider ...
#   c.GenericOAuthenticator.auth_state_groups_key = "oauth_user.groups"  # ... "scientists" etc.
#   c.GenericOAuthenticator.allowed_groups = {"scientists", "operators", "viewers"}
#   c.GenericOAuthenticator.admin_groups = {"hub-admins"}
#   # the landing page (NativeAuthenticator's class adds it to the hub):
#   c.JupyterHub.extra_handlers = [(r"/marsgis", marsgis_hub.home_handler(s.dashboards_dir, s.admin_users))]
#
# Groups, roles, servers, services and database roles stay exactly as above.
