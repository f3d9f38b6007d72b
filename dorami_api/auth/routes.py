"""/api/v1/auth: register, login (password, Kakao, dev), refresh, logout, sessions, me, csrf.

Every login answers with HttpOnly cookies (web) and the tokens in the body (native and API
clients): {accessToken, refreshToken, accessTokenExpiresAt, user}.
"""

from __future__ import annotations

import ipaddress
import logging
from urllib.parse import urlencode

from flask import Blueprint, current_app, redirect, request

from dorami_api.auth import kakao, service
from dorami_api.auth.cookies import clear_auth_cookies, set_auth_cookies
from dorami_api.auth.csrf import current_csrf_token
from dorami_api.auth.guards import current_principal, login_required
from dorami_api.auth.refresh import refresh_session
from dorami_api.auth.schemas import Credentials, DevLogin, RefreshRequest, Registration, SignedIn
from dorami_api.auth.tokens import REFRESH_COOKIE, TokenPair
from dorami_api.errors import ApiError, NotFound
from dorami_api.users.models import User
from dorami_api.users.serializers import user_json
from dorami_api.users.service import get_user
from dorami_api.web.rate_limits import auth_limit, limiter, login_failure_limit
from dorami_api.web.responses import iso, ok
from dorami_api.web.validation import body, documented

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)


def _client() -> tuple[str | None, str | None]:
    return request.headers.get("User-Agent"), request.remote_addr


def _signed_in(user: User, pair: TokenPair, status: int = 200):
    response, status = ok(
        {
            "accessToken": pair.access_token,
            "refreshToken": pair.refresh_token,
            "accessTokenExpiresAt": iso(pair.access_expires_at),
            "user": user_json(user),
        },
        status,
    )
    return set_auth_cookies(response, pair), status


def _signed_out():
    response, status = ok({"message": "Signed out"})
    return clear_auth_cookies(response), status


@bp.post("/register")
@documented(
    "Create an account (password ≥ 10 characters)",
    response=SignedIn,
    tags=("auth",),
    status=201,
    errors=(400, 409, 429),
)
@auth_limit
@body(Registration)
def register(body: Registration):
    user, pair = service.register(str(body.email), body.password, body.name, *_client())
    return _signed_in(user, pair, 201)


@bp.post("/login")
@documented("Sign in with email and password", response=SignedIn, tags=("auth",), errors=(400, 401, 403, 429))
@auth_limit
@login_failure_limit
@body(Credentials)
def login(body: Credentials):
    user, pair = service.login_with_password(body.email, body.password, *_client())
    return _signed_in(user, pair)


@bp.post("/dev-login")
@documented(
    "Development sign-in by email (ENABLE_DEV_AUTH, loopback callers only; 404 otherwise)",
    response=SignedIn,
    tags=("auth",),
    errors=(404,),
)
@limiter.exempt
@body(DevLogin)
def dev_login(body: DevLogin):
    if not _dev_login_allowed():
        raise NotFound("NOT_FOUND", "No such route")
    user, pair = service.dev_login(str(body.email), body.name, *_client())
    return _signed_in(user, pair)


def _dev_login_allowed() -> bool:
    config = current_app.config["DORAMI"]
    if not config.enable_dev_auth or config.is_production:
        return False
    # Behind an untrusted proxy the peer is the proxy (maybe on loopback): refuse forwarded calls.
    if config.proxy_hops == 0 and ("X-Forwarded-For" in request.headers or "Forwarded" in request.headers):
        return False
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


@bp.post("/refresh")
@documented(
    "Rotate: new access and refresh tokens (refresh from cookie or body)",
    response=SignedIn,
    tags=("auth",),
    errors=(401, 429),
)
@auth_limit
@body(RefreshRequest, optional=True)
def refresh(body: RefreshRequest):
    user, pair = refresh_session(body.refresh_token or request.cookies.get(REFRESH_COOKIE))
    return _signed_in(user, pair)


@bp.post("/logout")
@documented("Sign out of this session (its access token stops working at once)", tags=("auth",), errors=(401,))
@login_required
def logout():
    service.logout(current_principal())
    return _signed_out()


@bp.post("/logout-all")
@documented("Sign out of every session", tags=("auth",), errors=(401,))
@login_required
def logout_all():
    service.logout_all(current_principal())
    return _signed_out()


@bp.get("/sessions")
@documented(
    "Your live sessions, newest first",
    tags=("auth",),
    errors=(401,),
    links={
        "RevokeSession": {
            "operationId": "auth_revoke_session_delete",
            "parameters": {"session_id": "$response.body#/data/sessions/0/id"},
        }
    },
)
@login_required
def sessions():
    principal = current_principal()
    return ok(
        {
            "sessions": [
                {
                    "id": str(s.id),
                    "current": str(s.id) == principal.session_id,
                    "userAgent": s.user_agent,
                    "ipAddress": s.ip_address,
                    "createdAt": iso(s.created_at),
                    "lastUsedAt": iso(s.last_used_at),
                    "expiresAt": iso(s.expires_at),
                }
                for s in service.live_sessions(principal)
            ]
        }
    )


@bp.delete("/sessions/<session_id>")
@documented("Revoke one of your sessions", tags=("auth",), status=204, errors=(401, 404))
@login_required
def revoke_session(session_id: str):
    current = service.revoke_own_session(current_principal(), session_id)
    response = current_app.response_class(status=204)
    return clear_auth_cookies(response) if current else response


@bp.get("/me")
@documented("The signed-in user and session", tags=("auth",), errors=(401,))
@login_required
def me():
    principal = current_principal()
    return ok(
        {
            **user_json(get_user(principal.user_id)),
            "sessionId": principal.session_id,
            "accessTokenExpiresAt": iso(principal.expires_at),
        }
    )


@bp.get("/csrf")
@documented("A CSRF token (also set as the csrf-token cookie)", tags=("auth",))
def csrf_token():
    return ok({"csrfToken": current_csrf_token()})


@bp.get("/kakao")
@documented("Start Kakao login (302 to Kakao)", tags=("auth",), status=302, errors=(404,))
def kakao_start():
    oauth_client = kakao.client()
    if oauth_client is None:
        raise NotFound("NOT_FOUND", "Kakao login is not configured")
    return oauth_client.authorize_redirect(kakao.callback_url())


@bp.get("/kakao/callback")
@documented(
    "Kakao's redirect back: sets the cookies and sends the browser to the frontend",
    tags=("auth",),
    status=302,
    errors=(404,),
)
def kakao_callback():
    oauth_client = kakao.client()
    if oauth_client is None:
        raise NotFound("NOT_FOUND", "Kakao login is not configured")
    frontend = current_app.config["DORAMI"].frontend_url
    try:
        profile = kakao.fetch_profile(oauth_client)
        user, pair, is_new = service.kakao_login(profile, *_client())
    except ApiError as error:
        return redirect(f"{frontend}/login?{urlencode({'error': error.code.lower()})}")
    except Exception as error:  # provider down, bad state, denied consent...
        log.warning("kakao login failed: %s", type(error).__name__)
        return redirect(f"{frontend}/login?error=auth_failed")
    if user.is_admin:
        target = f"{frontend}/admin"
    else:
        query = {"profileComplete": str(user.profile_complete).lower(), "isNewUser": str(is_new).lower()}
        if not user.profile_complete:
            query["kakaoName"] = user.name
        target = f"{frontend}/auth/kakao/callback?{urlencode(query)}"
    return set_auth_cookies(redirect(target), pair)
