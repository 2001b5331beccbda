"""Run ``marsgis serve`` as the API's own database role (the Kubernetes deployment).

The hub creates the role ``<prefix>_s_api`` (a member of every level's group role: the API
checks each caller's marsgis scopes, then runs the request as the caller's group role,
``MARSGIS_API_DB_ROLES``) and derives its password from
``MARSGIS_HUB_DB_SECRET``; this wrapper derives the same URL, removes the secret from the
environment and replaces itself with ``marsgis serve`` (arguments passed on, e.g.
``--host 0.0.0.0 --port 8014``). On one machine the hub hands the URL over directly and runs
``marsgis serve`` itself (hub/marsgis_hub.py, ``api_service``).
"""

from __future__ import annotations

import os
import shutil
import sys


def main() -> None:
    from marsgis.db import roles

    secret = os.environ.pop("MARSGIS_HUB_DB_SECRET", "")
    base = os.environ.pop("MARSGIS_HUB_DATABASE_URL", "")
    if secret and base and not os.environ.get("MARSGIS_DATABASE_URL"):
        prefix = os.environ.get("MARSGIS_HUB_DB_ROLE_PREFIX") or roles.DEFAULT_PREFIX
        role = roles.service_role("api", prefix=prefix)
        url = roles.user_database_url(base, role, roles.derive_password(secret, role))
        os.environ["MARSGIS_DATABASE_URL"] = url
        # the role is a member of every group: each request runs as its caller's group role
        os.environ.setdefault("MARSGIS_API_DB_ROLES", "1")
        os.environ.setdefault("MARSGIS_DB_ROLE_PREFIX", prefix)
    marsgis = shutil.which("marsgis") or os.path.join(os.path.dirname(sys.executable), "marsgis")
    os.execv(marsgis, [marsgis, "serve", *sys.argv[1:]])


if __name__ == "__main__":
    main()
