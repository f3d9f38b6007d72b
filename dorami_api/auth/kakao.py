"""Kakao OAuth 2.0 login with Authlib's Flask client: active when KAKAO_CLIENT_ID is
set. Authlib keeps the `state` in the signed session cookie and checks it on the callback; the
authorize, token and profile URLs are configurable so that tests (and staging) can point them
at a stand-in provider."""

from __future__ import annotations

from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app, url_for

EXTENSION = "dorami.kakao"


def init_app(app: Flask) -> None:
    config = app.config["DORAMI"]
    if not config.kakao_client_id:
        return
    oauth = OAuth(app)
    oauth.register(
        "kakao",
        client_id=config.kakao_client_id,
        client_secret=config.kakao_client_secret,
        authorize_url=config.kakao_authorize_url,
        access_token_url=config.kakao_token_url,
        client_kwargs={
            # Kakao reads the client credentials from the form body.
            "token_endpoint_auth_method": "client_secret_post" if config.kakao_client_secret else "none",
            "timeout": 10,
        },
    )
    app.extensions[EXTENSION] = oauth.create_client("kakao")


def client():
    """The registered Kakao client, or None when Kakao login is not configured."""
    return current_app.extensions.get(EXTENSION)


def callback_url() -> str:
    return current_app.config["DORAMI"].kakao_callback_url or url_for("auth.kakao_callback", _external=True)


def fetch_profile(oauth_client) -> dict:
    """Exchange the callback's code (state checked) and read /v2/user/me."""
    token = oauth_client.authorize_access_token()
    response = oauth_client.get(current_app.config["DORAMI"].kakao_profile_url, token=token)
    response.raise_for_status()
    profile = response.json()
    if not isinstance(profile, dict) or "id" not in profile:
        raise ValueError("the Kakao profile has no id")
    return profile
