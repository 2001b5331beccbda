"""One router module per resource; each route parses, checks a scope, calls the library.

Routers carry the full path (:data:`API_PREFIX` included), so a route's template — what the
access log records — is the path a client sees.
"""

__all__ = ["API_PREFIX"]

#: Where every route lives.
API_PREFIX = "/api/v1"
