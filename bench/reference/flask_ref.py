"""Reference: a bare Flask-SocketIO server on the service's own stack — gunicorn with the
GeventWebSocketWorker, the Redis message queue — speaking the same events as the service, with
nothing else (no authentication, rate limits, history, metrics, database). The floor our stack
adds cost to.

Its flash sale is the least a sale can do on this stack: stock is a Redis counter taken by one
atomic script (shared by the workers, so it cannot oversell), and each sale sends what the service
sends to the stream's room — one `order:purchase:notification`, and `live:product:soldout`
when the last unit goes. No database, no accounts, no order rows.

    gunicorn -k geventwebsocket.gunicorn.workers.GeventWebSocketWorker -w 2 --worker-connections 10000 \
        -b 127.0.0.1:3102 --chdir bench/reference flask_ref:app
    env: REF_REDIS_URL (redis://127.0.0.1:6379/0), REF_CHANNEL (bench-ref-flask),
         REF_JWT_SECRET (the service's JWT_SECRET: `/ref/signed-in` verifies its tokens, and it signs
         the session cookie of `/ref/products-csrf`, as the service's SECRET_KEY is its JWT secret),
         REF_DATABASE_URL (the service's database, for `/ref/signed-in`; without it that route
         answers 503 and everything else runs as before), PROMETHEUS_MULTIPROC_DIR (a writable
         directory, for `/ref/products-contract`), REF_CORS_ORIGINS (comma-separated)

Some routes are the least the service's contract requires of a request, on the same libraries (the
floor of a contract route on this stack, not a copy of the service):

- `GET /ref/products-csrf`: the `/ref/products` page plus the contract's CSRF cookie, issued as the
  service issues it on a GET (dorami_api/auth/csrf.py): a client without valid cookies gets a
  Flask-WTF token (`generate_csrf()`, its raw half in Flask's signed session cookie
  `dorami-session`, permanent, 24 h) and the `csrf-token` cookie (24 h, path /, SameSite=Lax, not
  HttpOnly, not Secure: the bench runs the service as development); a client that sends both
  cookies back gets its token checked (`validate_csrf`), not minted again.
- `GET /ref/products-contract`: `/ref/products-csrf` plus every other duty the contract puts on a
  public read, inline in the view: a request id (a sane `X-Request-Id` kept, else a new one)
  echoed back, the HTTP metrics (requests by method, route and status, and the latency histogram,
  in prometheus_client's multiprocess mode under PROMETHEUS_MULTIPROC_DIR), one access line with
  the id to stdout, the security headers, and CORS for REF_CORS_ORIGINS (`Vary: Origin`; the
  allow headers for a listed origin). No redaction or escaping of the line, no hooks.
- `GET /ref/signed-in`: a signed-in read at its least (what the service re-checks on every
  signed-in request, then one read): the bearer JWT verified (HS256, PyJWT, type `access` with
  `jti`, `sid`, `sub`), one Redis round trip (MGET of the keys the service reads: the blocklist
  entry `auth:blocklist:<jti>` and the user's session epoch `auth:session-epoch:<sub>`), one
  PostgreSQL round trip through SQLAlchemy Core on a pooled engine (the user's live cart lines:
  a parameterised SELECT on the service's `cart_holds` table, outside a transaction, as the
  service's read), and a small JSON answer. It reads the epoch but compares it with nothing: it
  remembers no sessions (the service reads its remembered session as a third key of the same
  MGET). It verifies the signature on every request; the service remembers tokens it has verified.
- `POST /ref/orders-floor`: a flash-sale order at its least under the contract (run by `bench/run.py
  flashsale` as the target `flask-ref-floor`, on products made by `POST /ref/flash` with
  `"floor": true`): the bearer JWT verified as above, then one Redis round trip (a pipeline: the
  MGET of the blocklist entry and the session epoch, and the three default rate-limit windows of the
  user counted in one script, as RATELIMIT_DEFAULT's 20/s, 100/10 s, 500/min), then the sale's
  gate: the same Redis counter as the bare sale. A loser is answered 409 there. A winner's unit is
  recorded in PostgreSQL in one statement, committed on its own (the stock row's decrement and an
  order row: tables `ref_floor_stock`/`ref_floor_orders` in the service's database), before the
  same two broadcasts as the bare sale. It reads no session
  row (as if every session were remembered), checks no profile and writes one order row: a floor
  below anything the service may do, not a copy of it.
- namespace `/chat-floor`: the chat at its least under the contract (run by `bench/run.py fanout`
  as the target `flask-ref-floor`, with the service's tokens): the socket's token verified at
  connect with one MGET (blocklist entry, session epoch); a join sends the joiner the room's
  history and the room `chat:user-joined`; a message is counted against its sender's limit (20 per
  10 s), refused when banned or muted and appended to the history in one script, then sent.
"""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

import gevent  # noqa: E402
import redis  # noqa: E402
from flask import Flask, abort, jsonify, make_response, request, session  # noqa: E402
from flask.sessions import SecureCookieSessionInterface  # noqa: E402
from flask_socketio import SocketIO, join_room  # noqa: E402
from flask_wtf.csrf import generate_csrf, validate_csrf  # noqa: E402
from wtforms.validators import ValidationError  # noqa: E402

app = Flask(__name__)
# A blocking pool, as the service uses: hundreds of greenlets wait for a connection instead of
# failing with MaxConnectionsError.
_redis = redis.Redis(
    connection_pool=redis.BlockingConnectionPool.from_url(
        os.environ.get("REF_REDIS_URL", "redis://127.0.0.1:6379/0"), max_connections=200, timeout=5
    )
)
_PREFIX = os.environ.get("REF_CHANNEL", "bench-ref-flask") + ":flash:"
# Take one unit if any is left: the new stock, or -1 when sold out.
_take = _redis.register_script(
    "local n = tonumber(redis.call('GET', KEYS[1]) or '-1') "
    "if n <= 0 then return -1 end return redis.call('DECR', KEYS[1])"
)
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


# ---- the contract's least: the CSRF cookie of a GET, a signed-in read ---------------------------

CSRF_COOKIE = "csrf-token"
TOKEN_SECONDS = 24 * 3600
_CSRF_PATH = "/ref/products-csrf"
_CONTRACT_PATH = "/ref/products-contract"
# The service's session cookie and token settings (dorami_api/auth/csrf.py init_app).
app.config.update(
    SECRET_KEY=os.environ.get("REF_JWT_SECRET") or "bench-ref-secret-" + "x" * 40,
    WTF_CSRF_TIME_LIMIT=TOKEN_SECONDS,
    SESSION_COOKIE_NAME="dorami-session",
    SESSION_COOKIE_HTTPONLY=True,
    SESSION_COOKIE_SAMESITE="Lax",
    SESSION_COOKIE_SECURE=False,
    PERMANENT_SESSION_LIFETIME=TOKEN_SECONDS,
    SESSION_REFRESH_EACH_REQUEST=False,
)


class _SessionOnCsrfRoute(SecureCookieSessionInterface):
    """Flask's own signed session cookie, opened only on the CSRF route: every other route keeps
    the null session it had before this app had a secret key (nothing to build, sign or save),
    so the existing routes cost what they cost before."""

    def open_session(self, app, request):
        if request.path not in (_CSRF_PATH, _CONTRACT_PATH):
            return None  # Flask makes its null session, as without a secret key
        return super().open_session(app, request)


app.session_interface = _SessionOnCsrfRoute()


def _csrf_valid(token: str) -> bool:
    try:
        validate_csrf(token)  # the signed token, its age, and its match with the session's half
    except ValidationError:
        return False
    return True


@app.get(_CSRF_PATH)
def products_csrf():
    """The product page with the contract's CSRF cookie, decided as the service decides
    (current_csrf_token): a valid `csrf-token` cookie is kept, anything else gets a new token."""
    response = products()
    existing = request.cookies.get(CSRF_COOKIE)
    if not (existing and _csrf_valid(existing)):
        session.permanent = True  # the session cookie lives as long as the token
        response.set_cookie(
            CSRF_COOKIE, generate_csrf(), max_age=TOKEN_SECONDS, path="/", secure=False, httponly=False, samesite="Lax"
        )
    return response


# The per-request duties the contract puts on every response, at their least. Built on the first
# request of the route (prometheus_client reads PROMETHEUS_MULTIPROC_DIR at import, and the other
# routes must not carry it).
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_SECURITY_HEADERS = (
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
)
# The service's text line (dorami_api/observability/logging.py TEXT_FORMAT), to stdout as there.
_ACCESS_FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s [%(rid)s] %(message)s"
_CORS_ORIGINS = frozenset(filter(None, os.environ.get("REF_CORS_ORIGINS", "http://localhost:3000").split(",")))
_duties: dict = {}


def _duty_parts() -> dict:
    if not _duties:
        from prometheus_client import Counter, Histogram

        access = logging.getLogger("ref.access")
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter(_ACCESS_FORMAT))
        access.handlers[:], access.propagate = [handler], False
        access.setLevel(logging.INFO)
        _duties.update(
            access=access,
            requests=Counter("ref_http_requests_total", "HTTP requests", ["method", "route", "status"]),
            latency=Histogram("ref_http_request_duration_seconds", "HTTP request latency", ["method", "route"]),
        )
    return _duties


@app.get(_CONTRACT_PATH)
def products_contract():
    """The list with the CSRF cookie (products_csrf) and every duty the contract puts on a public
    read: a request id (a sane X-Request-Id kept, else a new one) echoed back; the HTTP metrics
    (requests by method, route and status, the latency histogram; multiprocess mode); one access
    line with the id; the security headers; CORS for the configured origins (`Vary: Origin`, and the
    allow headers for a listed origin). Inline in the view, no hooks: the least each costs."""
    started = time.perf_counter()
    duties = _duty_parts()
    header = request.headers.get("X-Request-Id")
    request_id = header if header and _SANE_REQUEST_ID.match(header) else uuid.uuid4().hex
    response = products_csrf()
    headers = response.headers
    headers["X-Request-Id"] = request_id
    for name, value in _SECURITY_HEADERS:
        headers[name] = value
    headers.add("Vary", "Origin")
    origin = request.headers.get("Origin")
    if origin in _CORS_ORIGINS:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Allow-Credentials"] = "true"
    seconds = time.perf_counter() - started
    duties["requests"].labels("GET", _CONTRACT_PATH, "200").inc()
    duties["latency"].labels("GET", _CONTRACT_PATH).observe(seconds)
    duties["access"].info(
        "GET %s 200 %.1fms %s", request.path, seconds * 1000, request.remote_addr, extra={"rid": request_id}
    )
    return response


# Built on the first signed-in read, not at import: PyJWT (with cryptography), SQLAlchemy and
# psycopg2 add ~24 MB to each worker, which the other scenarios (capacity's RSS) must not carry.
_signed_in: dict = {}


def _signed_in_parts() -> dict | None:
    if not _signed_in:
        url, secret = os.environ.get("REF_DATABASE_URL"), os.environ.get("REF_JWT_SECRET")
        if not url or not secret:
            return None
        import jwt
        import sqlalchemy as sa
        from psycogreen.gevent import patch_psycopg

        patch_psycopg()  # psycopg2 waits yield to other greenlets, as in the service (wsgi.py)
        holds = sa.table(
            "cart_holds",
            *(sa.column(c) for c in ("id", "user_id", "product_id", "variant_id", "quantity", "status")),
            sa.column("expires_at", sa.DateTime(timezone=True)),
            sa.column("created_at", sa.DateTime(timezone=True)),
        )
        now = sa.bindparam("now", type_=sa.DateTime(timezone=True))
        _signed_in.update(
            jwt=jwt,
            secret=secret,
            # The service's pool settings (dorami_api/__init__.py _engine_options); autocommit, so
            # the SELECT is the only round trip (no BEGIN before it, no ROLLBACK after it).
            engine=sa.create_engine(
                url,
                pool_size=20,
                max_overflow=10,
                pool_pre_ping=False,
                pool_recycle=1800,
                pool_timeout=10,
                isolation_level="AUTOCOMMIT",
                connect_args={"connect_timeout": 5, "application_name": "bench-flask-ref"},
            ),
            text=sa.text,
            # The user's live holds (ACTIVE, not past their expiry), oldest first.
            cart=sa.select(holds.c.id, holds.c.product_id, holds.c.variant_id, holds.c.quantity, holds.c.expires_at)
            .where(
                holds.c.user_id == sa.bindparam("user_id"),
                holds.c.status == "ACTIVE",
                sa.or_(holds.c.expires_at.is_(None), holds.c.expires_at > now),
            )
            .order_by(holds.c.created_at, holds.c.id),
        )
    return _signed_in


def _unauthorized(code: str):
    return make_response(jsonify(success=False, errorCode=code), 401)


def _not_configured():
    return make_response(
        jsonify(success=False, errorCode="NOT_CONFIGURED", message="REF_DATABASE_URL, REF_JWT_SECRET"), 503
    )


def _verified_claims() -> tuple[dict, dict]:
    """The contract routes' parts and the claims of the request's bearer access token (signature,
    expiry, type); a request that has none is answered here (abort with the 401, or 503 when the
    routes are not configured)."""
    parts = _signed_in_parts()
    if parts is None:
        abort(_not_configured())
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(_unauthorized("UNAUTHORIZED"))
    claims, refusal = _access_claims(parts, token.strip())
    if claims is None:
        abort(_unauthorized(refusal))
    return parts, claims


def _access_claims(parts: dict, token: str) -> tuple[dict | None, str]:
    """The claims of a valid access token (signature, expiry, type, `jti`/`sid`/`sub`), or None and
    the refusal's error code."""
    jwt = parts["jwt"]
    try:
        claims = jwt.decode(token, parts["secret"], algorithms=["HS256"])
    except jwt.ExpiredSignatureError:
        return None, "TOKEN_EXPIRED"
    except jwt.PyJWTError:
        return None, "UNAUTHORIZED"
    if claims.get("type") != "access" or not (claims.get("jti") and claims.get("sid") and claims.get("sub")):
        return None, "UNAUTHORIZED"
    return claims, ""


def _auth_keys(claims: dict) -> list[str]:
    """The keys the service reads for every signed-in request: blocklist entry, session epoch."""
    return [f"auth:blocklist:{claims['jti']}", f"auth:session-epoch:{claims['sub']}"]


@app.get("/ref/signed-in")
def signed_in():
    parts, claims = _verified_claims()
    blocked, _epoch = _redis.mget(_auth_keys(claims))
    if blocked is not None:
        return _unauthorized("TOKEN_REVOKED")
    with parts["engine"].connect() as conn:
        rows = conn.execute(parts["cart"], {"user_id": claims["sub"], "now": datetime.now(UTC)}).all()
    items = [
        {
            "id": str(r.id),
            "productId": str(r.product_id),
            "quantity": r.quantity,
            "expiresAt": r.expires_at.isoformat() if r.expires_at else None,
        }
        for r in rows
    ]
    return jsonify(success=True, data={"userId": claims["sub"], "items": items, "count": len(items)}, timestamp=_now())


@app.post("/ref/flash")
def flash_product():
    """A product for one flash sale: {stock, room} -> {id}."""
    body = request.get_json()
    product_id = str(uuid.uuid4())
    if body.get("floor"):  # the floor's sale also records its units in PostgreSQL
        parts = _signed_in_parts()
        if parts is None:
            return _not_configured()
        with parts["engine"].connect() as conn:  # autocommit: each statement commits
            for statement in _FLOOR_TABLES:
                conn.execute(parts["text"](statement))
            conn.execute(
                parts["text"]("INSERT INTO ref_floor_stock (product_id, stock) VALUES (:p, :n)"),
                {"p": product_id, "n": int(body["stock"])},
            )
    _redis.set(_PREFIX + product_id, int(body["stock"]))
    _redis.set(_PREFIX + product_id + ":room", body["room"])
    return jsonify(success=True, data={"id": product_id}), 201


# A winner's unit, recorded in one round trip: the stock row's lock, the unit taken and the order
# row, committed together (bench/pgbench/hot_row.sql does the same in four).
_FLOOR_SALE = (
    "WITH taken AS (UPDATE ref_floor_stock SET stock = stock - 1, version = version + 1"
    " WHERE product_id = :p AND stock > 0 RETURNING product_id)"
    " INSERT INTO ref_floor_orders (id, product_id, user_id, quantity) SELECT :o, product_id, :u, 1 FROM taken"
)
_FLOOR_TABLES = (
    "CREATE TABLE IF NOT EXISTS ref_floor_stock (product_id uuid PRIMARY KEY, stock integer NOT NULL,"
    " version integer NOT NULL DEFAULT 1)",
    "CREATE TABLE IF NOT EXISTS ref_floor_orders (id uuid PRIMARY KEY, product_id uuid NOT NULL,"
    " user_id uuid NOT NULL, quantity integer NOT NULL, created_at timestamptz NOT NULL DEFAULT now())",
)


def _product(product_id: str, stock: int) -> dict:
    return {"id": product_id, "stock": stock, "status": "SOLD_OUT" if stock == 0 else "AVAILABLE"}


@app.get("/api/v1/products/<product_id>")
def flash_product_state(product_id):
    stock = _redis.get(_PREFIX + product_id)
    if stock is None:
        return jsonify(success=False, errorCode="PRODUCT_NOT_FOUND"), 404
    return jsonify(success=True, data=_product(product_id, int(stock)))


@app.post("/api/v1/orders/direct")
def flash_order():
    product_id = request.get_json()["items"][0]["productId"]
    left = _take(keys=[_PREFIX + product_id])
    if left < 0:
        return jsonify(success=False, errorCode="PRODUCT_SOLD_OUT", message="This product is sold out"), 409
    return _announce_sale(product_id, left, str(uuid.uuid4()))


def _announce_sale(product_id: str, left: int, order_id: str):
    """What the service sends the stream's room for a sale, and the buyer's 201."""
    room = f"stream:{_redis.get(_PREFIX + product_id + ':room').decode()}"
    notice = {"streamKey": room[7:], "displayName": "viewer", "productName": "Flash"}
    socketio.emit("order:purchase:notification", {"type": "order:purchase:notification", "data": notice}, to=room)
    if left == 0:
        data = _product(product_id, 0)
        socketio.emit("live:product:soldout", {"type": "live:product:soldout", "data": data}, to=room)
    order = {"id": order_id, "items": [{"productId": product_id, "quantity": 1}]}
    return jsonify(success=True, data=order), 201


# RATELIMIT_DEFAULT's windows (seconds, amount), counted per user as the service counts them
# (fixed windows; the count stops at the first window breached).
_FLOOR_WINDOWS = ((1, 20), (10, 100), (60, 500))
_count_windows = _redis.register_script(
    "for i, key in ipairs(KEYS) do "
    "  local n = redis.call('INCR', key) "
    "  if n == 1 then redis.call('EXPIRE', key, ARGV[2 * i - 1]) end "
    "  if n > tonumber(ARGV[2 * i]) then return 0 end "
    "end return 1"
)


@app.post("/ref/orders-floor")
def flash_order_floor():
    parts, claims = _verified_claims()
    user = claims["sub"]
    checks = _redis.pipeline(transaction=False)
    checks.mget(_auth_keys(claims))
    _count_windows(
        keys=[f"{_PREFIX}rl:{seconds}:{user}" for seconds, _ in _FLOOR_WINDOWS],
        args=[value for window in _FLOOR_WINDOWS for value in window],
        client=checks,
    )
    (blocked, _epoch), within = checks.execute()
    if blocked is not None:
        return _unauthorized("TOKEN_REVOKED")
    if not within:
        return jsonify(success=False, errorCode="RATE_LIMIT_EXCEEDED"), 429
    product_id = request.get_json()["items"][0]["productId"]
    left = _take(keys=[_PREFIX + product_id])
    if left < 0:
        return jsonify(success=False, errorCode="PRODUCT_SOLD_OUT", message="This product is sold out"), 409
    order_id = str(uuid.uuid4())
    with parts["engine"].connect() as conn:  # one statement, committed on its own
        conn.execute(parts["text"](_FLOOR_SALE), {"o": order_id, "p": product_id, "u": user})
    return _announce_sale(product_id, left, order_id)


# Its auction is the least one can do on this stack: the price is a Redis hash changed by one
# atomic script (the workers share it, so amounts only rise), and each accepted bid sends what the
# service sends to the stream's room — one `auction:updated` (not coalesced) — and the process
# that started it sends `auction:ended` at endsAt from a greenlet. No database, no accounts.
_bid = _redis.register_script(
    "local price = tonumber(redis.call('HGET', KEYS[1], 'price') or '-1') "
    "local least = price < 0 and tonumber(redis.call('HGET', KEYS[1], 'start')) "
    "  or price + tonumber(redis.call('HGET', KEYS[1], 'increment')) "
    "if redis.call('HGET', KEYS[1], 'status') ~= 'RUNNING' then return {-2, least} end "
    "if tonumber(ARGV[1]) < least then return {-1, least} end "
    "redis.call('HSET', KEYS[1], 'price', ARGV[1]) "
    "local version = redis.call('HINCRBY', KEYS[1], 'version', 1) "
    "redis.call('HINCRBY', KEYS[1], 'bids', 1) "
    "return {version, tonumber(ARGV[1]) + tonumber(redis.call('HGET', KEYS[1], 'increment'))}"
)


def _cents(amount) -> int:
    return round(float(amount) * 100)


def _money(cents: int) -> str:
    return f"{cents / 100:.2f}"


@app.post("/ref/auction")
def auction_create():
    """An auction for one run: {room, startingPrice, increment, durationSeconds} -> {id}."""
    body = request.get_json()
    auction_id = str(uuid.uuid4())
    _redis.hset(
        _PREFIX + "auction:" + auction_id,
        mapping={
            "room": body["room"],
            "start": _cents(body["startingPrice"]),
            "increment": _cents(body.get("increment", "1.00")),
            "duration": int(body["durationSeconds"]),
            "status": "SCHEDULED",
            "version": 1,
            "bids": 0,
        },
    )
    return jsonify(success=True, data={"id": auction_id}), 201


def _auction_event(auction_id: str, state: dict, ends_at: float) -> dict:
    price = state.get(b"price")
    return {
        "auctionId": auction_id,
        "currentPrice": _money(int(price)) if price else None,
        "bidCount": int(state.get(b"bids", 0)),
        "version": int(state[b"version"]),
        "endsAt": datetime.fromtimestamp(ends_at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "serverTime": _now(),
    }


@app.post("/api/v1/auctions/<auction_id>/start")
def auction_start(auction_id):
    key = _PREFIX + "auction:" + auction_id
    duration = int(_redis.hget(key, "duration"))
    ends_at = datetime.now(UTC).timestamp() + duration
    _redis.hset(key, mapping={"status": "RUNNING", "ends_at": ends_at})
    _redis.hincrby(key, "version", 1)

    def end():
        gevent.sleep(max(ends_at - datetime.now(UTC).timestamp(), 0))
        _redis.hset(key, "status", "ENDED")
        version = _redis.hincrby(key, "version", 1)
        state = _redis.hgetall(key)
        data = {**_auction_event(auction_id, state, ends_at), "status": "ENDED", "version": version}
        data["finalPrice"] = data["currentPrice"]
        room = f"stream:{state[b'room'].decode()}"
        socketio.emit("auction:ended", {"type": "auction:ended", "data": data}, to=room)

    gevent.spawn(end)
    start = int(_redis.hget(key, "start"))
    return jsonify(success=True, data={"id": auction_id, "status": "RUNNING", "minimumBid": _money(start)})


@socketio.on("auction:bid", namespace="/")
def auction_bid(payload):
    payload = payload or {}
    auction_id = payload.get("auctionId")
    key = _PREFIX + "auction:" + str(auction_id)
    version, least = _bid(keys=[key], args=[_cents(payload.get("amount", 0))])
    if version == -2:
        return {"success": False, "errorCode": "AUCTION_NOT_RUNNING", "message": "not running"}
    if version == -1:
        details = {"minimumBid": _money(least)}
        return {"success": False, "errorCode": "BID_TOO_LOW", "message": "too low", "details": details}
    state = _redis.hgetall(key)
    data = {**_auction_event(auction_id, state, float(state[b"ends_at"])), "version": version}
    data["minimumBid"] = _money(least)
    socketio.emit("auction:updated", {"type": "auction:updated", "data": data}, to=f"stream:{state[b'room'].decode()}")
    return {"success": True, "data": {**data, "accepted": True, "amount": data["currentPrice"]}}


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


# The chat under the contract, at its least (namespace /chat-floor, run by `bench/run.py fanout` as
# the target `flask-ref-floor`): the socket's access token verified at connect (`_access_claims`)
# with one MGET of its blocklist entry and session epoch; a join that sends the joiner the room's
# history and the room `chat:user-joined`; a message counted against the sender's limit (20 per
# 10 s), refused when banned or muted, and appended to the history in one script, then sent to the
# room. No stream lookup, no sanitising, no moderation restore, no metrics: a floor, not a copy.
CHAT_FLOOR = "/chat-floor"
_chat_users: dict[str, str] = {}  # sid -> the user id of its verified token
_chat_send_floor = _redis.register_script(
    "local n = redis.call('INCR', KEYS[1]) "
    "if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end "
    "if n > tonumber(ARGV[2]) then return 'RATE_LIMITED' end "
    "if redis.call('EXISTS', KEYS[2], KEYS[3]) > 0 then return 'CHAT_MUTED' end "
    "redis.call('RPUSH', KEYS[4], ARGV[3]) "
    "redis.call('LTRIM', KEYS[4], -tonumber(ARGV[4]), -1) "
    "redis.call('EXPIRE', KEYS[4], ARGV[5]) "
    "return 'OK'"
)


def _chat_key(*parts: str) -> str:
    return _PREFIX + "chat:" + ":".join(parts)


@socketio.on("connect", namespace=CHAT_FLOOR)
def chat_floor_connect(auth=None):
    parts = _signed_in_parts()
    token = (auth or {}).get("token") if isinstance(auth, dict) else None
    if parts is None or not token:
        return False
    claims, _refusal = _access_claims(parts, token)
    if claims is None:
        return False
    blocked, _epoch = _redis.mget(_auth_keys(claims))
    if blocked is not None:
        return False
    _chat_users[request.sid] = claims["sub"]
    return True


@socketio.on("disconnect", namespace=CHAT_FLOOR)
def chat_floor_disconnect(*_reason):
    _chat_users.pop(request.sid, None)


@socketio.on("chat:join-room", namespace=CHAT_FLOOR)
def chat_floor_join(payload):
    live_id = str((payload or {}).get("liveId"))
    room = f"live:{live_id}"
    join_room(room)
    messages = [json.loads(m) for m in _redis.lrange(_chat_key(live_id, "history"), -100, -1)]
    history = {"type": "chat:history", "data": {"liveId": live_id, "messages": messages}}
    socketio.emit("chat:history", history, to=request.sid, namespace=CHAT_FLOOR)
    joined = {"userId": _chat_users.get(request.sid), "liveId": live_id, "timestamp": _now()}
    socketio.emit("chat:user-joined", {"type": "chat:user-joined", "data": joined}, to=room, namespace=CHAT_FLOOR)
    return {"success": True, "data": {"liveId": live_id, "roomName": room}}


@socketio.on("chat:send-message", namespace=CHAT_FLOOR)
def chat_floor_send(payload):
    payload = payload or {}
    live_id, user = str(payload.get("liveId")), _chat_users.get(request.sid, "")
    data = {
        "id": str(uuid.uuid4()),
        "liveId": live_id,
        "userId": user,
        "username": "viewer",
        "message": payload.get("message"),
        "clientMessageId": payload.get("clientMessageId"),
        "timestamp": _now(),
    }
    outcome = _chat_send_floor(
        keys=[_chat_key("rl", user), _chat_key(live_id, "ban", user), _chat_key(live_id, "mute", user)]
        + [_chat_key(live_id, "history")],
        args=[10, 20, json.dumps(data), 100, 86400],
    )
    if outcome != b"OK":
        return {"success": False, "errorCode": outcome.decode()}
    socketio.emit("chat:message", {"type": "chat:message", "data": data}, to=f"live:{live_id}", namespace=CHAT_FLOOR)
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
