"""Who is looking at a public route: anonymous, or a signed-in user (admins see more, such as
hidden products or a stream's publish key). A missing, stale or invalid token on a public route
is simply anonymous — the route is public."""

from __future__ import annotations

from dorami_api.auth.guards import authenticate_request, request_token
from dorami_api.auth.principal import Principal
from dorami_api.errors import ApiError


def optional_principal() -> Principal | None:
    try:
        token, _via = request_token()
        return authenticate_request() if token else None
    except ApiError:
        return None


def viewer_is_admin() -> bool:
    principal = optional_principal()
    return principal is not None and principal.is_admin
