"""Whether a path is one of the app's routes, asked of the router itself (not of route attributes).

`route.matches(scope)` is Starlette's public routing API and sees every route however it was added: plain
routes, mounts, and included routers (which FastAPI >= 0.16x keeps as `_IncludedRouter` objects without a
`path`). Any method counts: a route that exists with another method is still a route (a 405, not a 404).
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Match


def is_routed(app: Any, path: str) -> bool:
    """True when some route of `app` matches `path` (with any HTTP method)."""
    scope = {"type": "http", "path": path, "root_path": "", "method": "GET", "headers": [], "query_string": b""}
    return any(route.matches(scope)[0] is not Match.NONE for route in app.router.routes)
