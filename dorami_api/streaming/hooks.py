"""Media-server hooks: the RTMP server asks us whether a publisher may go live, and tells us when
it stops. Two wire forms on the same routes:

- nginx-rtmp (`on_publish` / `on_publish_done`): a form post with `name` = the stream name the
  encoder published (our publishKey), `call`, `addr`, `app`, ...; any 2xx allows, anything else
  refuses.
- SRS (`on_publish` / `on_unpublish`): JSON `{action, stream, app, param, ...}` with `stream` =
  the publishKey; `{"code": 0}` allows, anything else refuses.

Both are authenticated by MEDIA_HOOK_SECRET, compared in constant time: preferably sent as the
`X-Media-Hook-Secret` header (which wins when both come), else as a `secret` query parameter in
the hook URL — the only way nginx-rtmp and SRS can send it. A query string ends up in access
logs, so ours never log one (the app's access line is the path; deploy/nginx.conf logs the request
line without its query). Without a configured secret every hook is refused: a media server must
never be able to start a show by accident.
"""

from __future__ import annotations

import hmac
import logging

from flask import Blueprint, current_app, jsonify, request
from pydantic import BaseModel, ConfigDict, Field

from dorami_api.errors import ApiError, error_response
from dorami_api.streaming import service
from dorami_api.web.validation import documented, parse_model

bp = Blueprint("streaming_hooks", __name__)
log = logging.getLogger(__name__)
SECRET_HEADER = "X-Media-Hook-Secret"  # noqa: S105 - a header name
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class NginxRtmpHook(BaseModel):
    """nginx-rtmp's form; extra fields (the publisher's URL arguments) are ignored."""

    model_config = ConfigDict(extra="ignore")
    name: str = Field(min_length=1, max_length=128, description="The published stream name: the publishKey")
    call: str | None = Field(None, max_length=64, description="publish / publish_done")
    app: str | None = Field(None, max_length=256)
    addr: str | None = Field(None, max_length=256)


class SrsHook(BaseModel):
    """SRS's JSON callback; fields other than `stream` are informational."""

    model_config = ConfigDict(extra="ignore")
    action: str | None = Field(None, max_length=64, description="on_publish / on_unpublish")
    stream: str = Field(min_length=1, max_length=128, description="The published stream name: the publishKey")
    app: str | None = Field(None, max_length=256)
    param: str | None = Field(None, max_length=2048)


class HookAnswer(BaseModel):
    """SRS reads `code` (0 allows); nginx-rtmp reads the HTTP status."""

    code: int
    errorCode: str | None = None
    message: str | None = None


def _secret_ok() -> bool:
    expected = current_app.config["DORAMI"].media_hook_secret
    given = request.headers.get(SECRET_HEADER) or request.args.get("secret") or ""
    if not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode("utf-8"))


def _refuse(srs: bool, status: int, code: str, message: str):
    if srs:
        return jsonify({"code": status, "errorCode": code, "message": message}), status
    return error_response(status, code, message)


def _allow(srs: bool):
    return jsonify({"code": 0, "message": "ok"}), 200


def _declared(model: type[BaseModel], payload: dict) -> dict:
    """The fields `model` reads: the others are ignored, so never checked nor refused."""
    return {key: value for key, value in payload.items() if key in model.model_fields}


def _publish_key() -> tuple[bool, str]:
    """(is SRS, publishKey) from either wire form."""
    if request.mimetype == "application/json":
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            raise ApiError(400, "INVALID_JSON", "The body must be a JSON object")
        return True, parse_model(SrsHook, _declared(SrsHook, payload)).stream
    if request.mimetype in FORM_TYPES:
        return False, parse_model(NginxRtmpHook, _declared(NginxRtmpHook, request.form.to_dict())).name
    raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "Send the nginx-rtmp form or the SRS JSON callback")


def _handle(on_key) -> tuple:
    srs = request.mimetype == "application/json"
    if not _secret_ok():
        log.warning("media hook refused: bad or missing secret from %s", request.remote_addr)
        return _refuse(srs, 403, "INVALID_HOOK_SECRET", "Media hook secret missing or wrong")
    try:
        srs, publish_key = _publish_key()
    except ApiError as error:
        return _refuse(srs, error.status, error.code, error.message)
    try:
        on_key(publish_key)
    except service.PublishRefused as reason:
        log.info("publish refused: %s", reason)
        return _refuse(srs, 403, "PUBLISH_REFUSED", "This publish key may not go live")
    return _allow(srs)


_HOOK_DOC = {
    "bodies": {"application/json": SrsHook, "application/x-www-form-urlencoded": NginxRtmpHook},
    "envelope": False,
    "auth": "media-hook",
}


@bp.post("/publish")
@documented("Media server on_publish: allow the publisher and go live", response=HookAnswer, errors=(400, 403, 415))
def on_publish():
    return _handle(service.publish_started)


@bp.post("/unpublish")
@documented("Media server on_unpublish / on_publish_done: end the stream", response=HookAnswer, errors=(400, 403, 415))
def on_unpublish():
    return _handle(service.publish_stopped)


for _view in (on_publish, on_unpublish):
    _view.__openapi__.update(_HOOK_DOC, tags=("media hooks",))
