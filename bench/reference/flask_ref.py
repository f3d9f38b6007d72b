"""Reference: a bare Flask-SocketIO server on the service's own stack — gunicorn with the
GeventWebSocketWorker, the Redis message queue — speaking the same events as the service, with
nothing else (no authentication, rate limits, history, metrics, database). The floor our stack
adds cost to.

    gunicorn -k geventwebsocket.gunicorn.workers.GeventWebSocketWorker -w 2 --worker-connections 10000 \
        -b 127.0.0.1:3102 --chdir bench/reference flask_ref:app
    env: REF_REDIS_URL (redis://127.0.0.1:6379/0), REF_CHANNEL (bench-ref-flask)
"""

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402
import uuid  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

from flask import Flask, jsonify  # noqa: E402
from flask_socketio import SocketIO, join_room  # noqa: E402

app = Flask(__name__)
socketio = SocketIO(
    app,
    async_mode="gevent",
    message_queue=os.environ.get("REF_REDIS_URL", "redis://127.0.0.1:6379/0"),
    channel=os.environ.get("REF_CHANNEL", "bench-ref-flask"),
    cors_allowed_origins="*",
    ping_interval=25,
    ping_timeout=60,
)

# The same shape as a page of the service's product list, served from memory: the cost of the
# framework alone for a JSON read, to set the REST figures against.
_PRODUCTS = [
    {
        "id": str(uuid.UUID(int=i)),
        "streamId": str(uuid.UUID(int=999)),
        "name": f"Product {i}",
        "description": "A product on air",
        "price": "10.00",
        "originalPrice": None,
        "imageUrl": None,
        "images": [],
        "status": "AVAILABLE",
        "stock": 100,
        "available": 100,
        "holdMinutes": 10,
        "sortOrder": i,
        "version": 1,
        "createdAt": "2026-01-01T00:00:00Z",
        "updatedAt": "2026-01-01T00:00:00Z",
    }
    for i in range(10)
]


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@app.get("/api/v1/health/live")
def live():
    return jsonify(status="ok", timestamp=_now())


@app.get("/ref/products")
def products():
    page = {"items": _PRODUCTS, "page": 1, "limit": 20, "total": len(_PRODUCTS), "totalPages": 1}
    return jsonify(success=True, data=page, timestamp=_now())


@socketio.on("chat:join-room", namespace="/chat")
def chat_join(payload):
    live_id = (payload or {}).get("liveId")
    join_room(f"live:{live_id}")
    return {"success": True, "data": {"liveId": live_id}}


@socketio.on("chat:send-message", namespace="/chat")
def chat_send(payload):
    payload = payload or {}
    live_id = payload.get("liveId")
    data = {
        "id": str(uuid.uuid4()),
        "liveId": live_id,
        "userId": "viewer",
        "username": "viewer",
        "message": payload.get("message"),
        "clientMessageId": payload.get("clientMessageId"),
        "timestamp": _now(),
    }
    socketio.emit("chat:message", {"type": "chat:message", "data": data}, to=f"live:{live_id}", namespace="/chat")
    return {"success": True, "data": data}


@socketio.on("stream:viewer:join", namespace="/streaming")
def viewer_join(payload):
    key = (payload or {}).get("streamKey")
    join_room(f"stream:{key}")
    return {"success": True, "data": {"streamKey": key}}


@socketio.on("join:stream", namespace="/")
def commerce_join(payload):
    key = (payload or {}).get("streamId")
    join_room(f"stream:{key}")
    return {"success": True, "data": {"streamId": key}}
