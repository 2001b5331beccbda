"""Run ``marsgis scheduler`` as the scheduler's own database role (the Kubernetes deployment).

The hub creates the role ``<prefix>_s_scheduler`` (a scientist-level role) and derives its
password from ``MARSGIS_HUB_DB_SECRET``; this wrapper derives the same URL, removes the secret
from the environment and replaces itself with ``marsgis scheduler`` (extra arguments are
passed on). On one machine the hub hands the URL over directly and runs ``marsgis scheduler``.
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
        role = roles.service_role("scheduler", prefix=prefix)
        url = roles.user_database_url(base, role, roles.derive_password(secret, role))
        os.environ["MARSGIS_DATABASE_URL"] = url
    marsgis = shutil.which("marsgis") or os.path.join(os.path.dirname(sys.executable), "marsgis")
    os.execv(marsgis, [marsgis, "scheduler", *sys.argv[1:]])


if __name__ == "__main__":
    main()
