"""The marsgis service API: FastAPI under ``/api/v1`` over the same public library.

Routes hold no logic a notebook could not reach: each parses, checks a scope
(:mod:`marsgis.api.scopes`, one auth dependency in :mod:`marsgis.api.auth`), calls
:mod:`marsgis.db` or :mod:`marsgis.planning`, and serialises. Errors are RFC 9457 problem
documents (:mod:`marsgis.api.problems`). Run it with ``marsgis serve``; see docs/api.md.
"""

from marsgis.api.app import API_PREFIX, create_app

__all__ = ["API_PREFIX", "create_app"]
