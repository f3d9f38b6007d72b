"""A stand-in Kakao: the three OAuth 2.0 endpoints Kakao login uses, served by werkzeug on a free
loopback port in a thread. It checks what the real one checks (client credentials, the code,
the redirect URI, the bearer token) so that a wrong exchange fails here too."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from urllib.parse import urlencode

from flask import Flask, jsonify, redirect, request
from werkzeug.serving import make_server

from tests.support.server import free_port


@dataclass
class StandInKakao:
    client_id: str
    client_secret: str
    profile: dict
    codes: dict = field(default_factory=dict)
    tokens: dict = field(default_factory=dict)
    token_requests: list = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def settings(self) -> dict:
        return {
            "KAKAO_CLIENT_ID": self.client_id,
            "KAKAO_CLIENT_SECRET": self.client_secret,
            "KAKAO_AUTHORIZE_URL": f"{self.url}/oauth/authorize",
            "KAKAO_TOKEN_URL": f"{self.url}/oauth/token",
            "KAKAO_PROFILE_URL": f"{self.url}/v2/user/me",
        }

    def wsgi(self) -> Flask:
        app = Flask("stand-in-kakao")

        @app.get("/oauth/authorize")
        def authorize():
            args = request.args
            if args.get("client_id") != self.client_id or args.get("response_type") != "code":
                return jsonify({"error": "invalid_request"}), 400
            if args.get("deny"):
                return redirect(
                    f"{args['redirect_uri']}?{urlencode({'error': 'access_denied', 'state': args['state']})}"
                )
            code = secrets.token_urlsafe(16)
            self.codes[code] = args["redirect_uri"]
            return redirect(f"{args['redirect_uri']}?{urlencode({'code': code, 'state': args['state']})}")

        @app.post("/oauth/token")
        def token():
            form = request.form
            self.token_requests.append(dict(form))
            if (form.get("client_id"), form.get("client_secret")) != (self.client_id, self.client_secret):
                return jsonify({"error": "invalid_client"}), 401
            redirect_uri = self.codes.pop(form.get("code"), None)
            if form.get("grant_type") != "authorization_code" or redirect_uri != form.get("redirect_uri"):
                return jsonify({"error": "invalid_grant"}), 400
            access = secrets.token_urlsafe(16)
            self.tokens[access] = True
            return jsonify({"access_token": access, "token_type": "bearer", "expires_in": 3600})

        @app.get("/v2/user/me")
        def me():
            scheme, _, value = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or value not in self.tokens:
                return jsonify({"msg": "this access token does not exist", "code": -401}), 401
            return jsonify(self.profile)

        return app


def serve(provider: StandInKakao):
    """Start the provider; returns a stop() callable."""
    provider.port = free_port()
    server = make_server("127.0.0.1", provider.port, provider.wsgi(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        thread.join(timeout=5)

    return stop
