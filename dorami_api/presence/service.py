"""`/streaming`: who is watching which stream, counted across every process.

`stream:{key}:viewers` is a sorted set of distinct participants (user id, or `guest:<sid>`) scored
by an expiry time. Each process also records, per participant, that *it* holds a socket of theirs
(`stream:{key}:holders:{participant}`, process → expiry), so a user with tabs on two processes
stays counted when one tab closes. Every process re-stamps its live participants every TTL/3
seconds; the entries of a process that was killed are not re-stamped and drop out of the count
within one TTL (45 s by default, SOCKET_PRESENCE_TTL).

`stream:viewer:update` is coalesced across processes: a change takes a one-second Redis "tick";
the taker broadcasts at once and once more a second later if anything changed meanwhile, so a
room gets at most one update per second however many viewers join.

The joins and leaves that reach one process together are made in one script call, in arrival
order (dorami_api/batches.py): when 10,000 sockets closed at once, a round trip per leave timed
out on Redis and left the leavers counted until their TTL ran out.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid

import redis
from flask import Flask
from flask_socketio import join_room, leave_room

from dorami_api.batches import Batches
from dorami_api.extensions import redis_store, socketio
from dorami_api.presence import schemas
from dorami_api.realtime import broadcast, connections, socket_limits
from dorami_api.realtime import server as socket_server
from dorami_api.realtime.broadcast import STREAMING
from dorami_api.realtime.connections import SocketClient
from dorami_api.realtime.replies import SocketError, socket_event
from dorami_api.streaming import live_status

log = logging.getLogger(__name__)

PROCESS_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
UPDATE_INTERVAL_SECONDS = 1.0

# The three moves of the counts, as Lua functions the scripts below share.
# enter: stamp `participant` as held by `process` until `expiry`; leave: drop this process's
# holding, keeping the participant while another process holds them. Both return the count.
# changed: the count changed — take the stream's one-second tick (1: this process broadcasts
# now) or leave a dirty mark for the taker's trailing broadcast (0).
_MOVES_LUA = """
local function enter(viewers, holders, participant, process, expiry, now, holder_ttl)
  redis.call('ZADD', holders, expiry, process)
  redis.call('EXPIRE', holders, holder_ttl)
  local current = redis.call('ZSCORE', viewers, participant)
  if (not current) or tonumber(current) < tonumber(expiry) then
    redis.call('ZADD', viewers, expiry, participant)
  end
  redis.call('EXPIRE', viewers, 86400)
  redis.call('ZREMRANGEBYSCORE', viewers, '-inf', now)
  return redis.call('ZCARD', viewers)
end
local function leave(viewers, holders, participant, process, now)
  redis.call('ZREM', holders, process)
  redis.call('ZREMRANGEBYSCORE', holders, '-inf', now)
  local rest = redis.call('ZRANGE', holders, -1, -1, 'WITHSCORES')
  if #rest == 0 then
    redis.call('ZREM', viewers, participant)
  else
    redis.call('ZADD', viewers, rest[2], participant)
  end
  redis.call('ZREMRANGEBYSCORE', viewers, '-inf', now)
  return redis.call('ZCARD', viewers)
end
local function changed(tick, dirty, process)
  if redis.call('SET', tick, process, 'NX', 'PX', 1500) then
    return 1
  end
  redis.call('SET', dirty, '1', 'PX', 10000)
  return 0
end
"""

# Re-stamp one participant (the refresher, many in a pipeline). KEYS: viewers, holders.
# ARGV: participant, process, expiry, now, holder TTL.
_ENTER = _MOVES_LUA + "return enter(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])\n"
# KEYS: tick, dirty. ARGV: process. Returns announce.
_CHANGED = _MOVES_LUA + "return changed(KEYS[1], KEYS[2], ARGV[1])\n"
# The joins and leaves one process receives together, in arrival order, with their viewer
# updates, in one round trip. KEYS: per move viewers, holders, tick, dirty. ARGV: process, now,
# expiry, holder TTL, then per move 'enter' or 'leave' and the participant. {count, announce} each.
_MOVES = (
    _MOVES_LUA
    + """
local process, now, expiry, holder_ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local moved, updated = {}, {}
for i = 1, #KEYS / 4 do
  local k, kind, participant = (i - 1) * 4, ARGV[3 + 2 * i], ARGV[4 + 2 * i]
  local count
  if kind == 'enter' then
    count = enter(KEYS[k + 1], KEYS[k + 2], participant, process, expiry, now, holder_ttl)
  else
    count = leave(KEYS[k + 1], KEYS[k + 2], participant, process, now)
  end
  -- One update per stream and call: the broadcast, made after the call, counts its every move.
  local announce = 0
  if not updated[KEYS[k + 3]] then
    updated[KEYS[k + 3]] = true
    announce = changed(KEYS[k + 3], KEYS[k + 4], process)
  end
  moved[i] = {count, announce}
end
return moved
"""
)
# The most moves one script call makes; more wait for the next call. When 10,000 sockets close
# at once, a move per round trip held Redis replies past the client's 2 s timeout.
MAX_MOVES_PER_CALL = 500

# After its second: broadcast again (and keep the tick) if changes came meanwhile, else release.
_TRAIL = """
if redis.call('GET', KEYS[2]) then
  redis.call('DEL', KEYS[2])
  redis.call('SET', KEYS[1], ARGV[1], 'PX', 1500)
  return 1
end
redis.call('DEL', KEYS[1])
return 0
"""


class Presence:
    """This process's side of the counts, for one app's socket server."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.ttl: int = app.config["DORAMI"].socket_presence_ttl
        self.refresher_started = False
        # stream key -> participant -> sids of this process; sid -> stream keys.
        self.local: dict[str, dict[str, set[str]]] = {}
        self.sid_streams: dict[str, set[str]] = {}
        self.moves = Batches(
            MAX_MOVES_PER_CALL, interrupted=lambda: RuntimeError("the batch of viewer joins and leaves was interrupted")
        )


def init_app(app: Flask) -> None:
    socket_server.keep(app, "presence", Presence(app))
    connections.on_connect(app, _on_connect)
    connections.on_disconnect(app, _on_disconnect)


def _state() -> Presence:
    return socket_server.state("presence")


def viewers_key(stream_key: str) -> str:
    return f"stream:{stream_key}:viewers"


def _holders_key(stream_key: str, participant: str) -> str:
    return f"stream:{stream_key}:holders:{participant}"


def viewer_count(stream_key: str) -> int:
    """Distinct participants watching now, on every process (for GET /streams/active)."""
    return int(redis_store.zcount(viewers_key(stream_key), f"({time.time()}", "+inf"))


def _enter(stream_key: str, participant: str, client=None) -> int:
    """Re-stamp a participant (the refresher, in a pipeline)."""
    now, ttl = time.time(), _state().ttl
    keys = [viewers_key(stream_key), _holders_key(stream_key, participant)]
    return redis_store.run_script(_ENTER, keys, [participant, PROCESS_ID, now + ttl, now, ttl], client=client)


def _move(kind: str, stream_key: str, participant: str) -> int:
    """Count `participant` in ('enter') or out ('leave') of the stream, with the joins and leaves
    that reach this process meanwhile; the count after it. A Redis error reaches every caller
    whose move was in that script call."""
    return _state().moves.submit(_MOVES, (kind, stream_key, participant), _make_moves)


def _make_moves(moves: list[tuple[str, str, str]]) -> list[int]:
    now, ttl = time.time(), _state().ttl
    keys, args = [], [PROCESS_ID, now, now + ttl, ttl]
    for kind, stream_key, participant in moves:
        keys += [viewers_key(stream_key), _holders_key(stream_key, participant), *_tick_keys(stream_key)]
        args += [kind, participant]
    try:
        moved = redis_store.run_script(_MOVES, keys, args)
    except redis.exceptions.TimeoutError:
        # Moves can be made twice (a ZADD or ZREM again; a tick already taken leaves a dirty
        # mark, one more update). When thousands of sockets close at once the worker can be too
        # busy to read a reply within the client's 2 s read timeout while Redis itself is idle.
        moved = redis_store.run_script(_MOVES, keys, args)
    for (_, stream_key, _), (_, announce) in zip(moves, moved, strict=True):
        if announce:
            socketio.start_background_task(_announce_loop, stream_key)
    return [int(count) for count, _ in moved]


# --- coalesced viewer updates ------------------------------------------------------------------


def _tick_keys(stream_key: str) -> list[str]:
    return [f"stream:{stream_key}:viewer-update:tick", f"stream:{stream_key}:viewer-update:dirty"]


def count_changed(stream_key: str) -> None:
    if redis_store.run_script(_CHANGED, _tick_keys(stream_key), [PROCESS_ID]):
        socketio.start_background_task(_announce_loop, stream_key)


def _announce(stream_key: str) -> None:
    count = viewer_count(stream_key)
    redis_store.set(f"stream:{stream_key}:viewer-update:sent", count, ex=86400)
    # The peak is recorded before the count goes out, so a client that saw a count never reads
    # an older peak over REST.
    app = _state().app
    if count > 0:
        try:
            with app.app_context():
                live_status.record_peak(stream_key, count)
        except Exception:
            log.exception("peak viewers of %s not recorded", stream_key)
    broadcast.viewer_count_updated(stream_key, count)


def _announce_loop(stream_key: str) -> None:
    try:
        _announce(stream_key)
        while True:
            socketio.sleep(UPDATE_INTERVAL_SECONDS)
            if not redis_store.run_script(_TRAIL, _tick_keys(stream_key), [PROCESS_ID]):
                return
            _announce(stream_key)
    except Exception:
        log.exception("viewer update for %s failed", stream_key)


# --- this process's participants ---------------------------------------------------------------


def _add_local(stream_key: str, client: SocketClient) -> bool:
    """Record the socket; True when it is this process's first socket of that participant."""
    state = _state()
    holders = state.local.setdefault(stream_key, {})
    sids = holders.setdefault(client.participant, set())
    first = not sids
    sids.add(client.sid)
    state.sid_streams.setdefault(client.sid, set()).add(stream_key)
    return first


def _remove_local(stream_key: str, client: SocketClient) -> bool:
    """Forget the socket; True when it was this process's last socket of that participant."""
    state = _state()
    holders = state.local.get(stream_key, {})
    sids = holders.get(client.participant)
    if not sids or client.sid not in sids:
        return False
    sids.discard(client.sid)
    state.sid_streams.get(client.sid, set()).discard(stream_key)
    if sids:
        return False
    del holders[client.participant]
    if not holders:
        state.local.pop(stream_key, None)
    return True


def _stop_watching(stream_key: str, client: SocketClient) -> None:
    if _remove_local(stream_key, client):
        _move("leave", stream_key, client.participant)


def refresh_local_participants(state: Presence | None = None) -> None:
    """Re-stamp every participant this process holds, and announce counts that moved (entries
    of a dead process expiring)."""
    state = state or _state()
    entries = [(key, participant) for key, holders in list(state.local.items()) for participant in list(holders)]
    if not entries:
        return
    with redis_store.pipeline(transaction=False) as pipe:
        for stream_key, participant in entries:
            _enter(stream_key, participant, client=pipe)
        counts = pipe.execute()
    latest = dict(zip((key for key, _ in entries), counts, strict=True))
    sent = redis_store.mget([f"stream:{key}:viewer-update:sent" for key in latest])
    for (stream_key, count), previous in zip(latest.items(), sent, strict=True):
        if previous is None or int(previous) != int(count):
            count_changed(stream_key)


def _refresher(state: Presence) -> None:
    while True:
        socketio.sleep(max(1.0, state.ttl / 3))
        try:
            refresh_local_participants(state)
        except Exception:
            log.exception("viewer presence refresh failed")


def _on_connect(client: SocketClient) -> None:
    state = _state()
    if not state.refresher_started:
        state.refresher_started = True
        socketio.start_background_task(_refresher, state)


def _on_disconnect(client: SocketClient) -> None:
    if client.namespace != STREAMING:
        return
    state = _state()
    for stream_key in list(state.sid_streams.get(client.sid, ())):
        _stop_watching(stream_key, client)
    state.sid_streams.pop(client.sid, None)


@socket_event(
    STREAMING,
    "stream:viewer:join",
    socket_limits.JOIN_LEAVE,
    guests=True,
    payload=schemas.Watch,
    ack=schemas.Viewers,
    summary="Watch a stream: counted once per person, stream:viewer:update to its viewers",
)
def viewer_join(client: SocketClient, payload: schemas.Watch) -> dict:
    stream_key = payload.streamKey
    if live_status.status(stream_key) is None:
        raise SocketError("STREAM_NOT_FOUND", "No stream has this key")
    join_room(broadcast.stream_room(stream_key))
    if _add_local(stream_key, client):
        count = _move("enter", stream_key, client.participant)
    else:
        count = viewer_count(stream_key)
    return {"streamKey": stream_key, "viewerCount": count}


@socket_event(
    STREAMING,
    "stream:viewer:leave",
    socket_limits.JOIN_LEAVE,
    guests=True,
    payload=schemas.Watch,
    ack=schemas.Viewers,
    summary="Stop watching a stream",
)
def viewer_leave(client: SocketClient, payload: schemas.Watch) -> dict:
    stream_key = payload.streamKey
    leave_room(broadcast.stream_room(stream_key))
    _stop_watching(stream_key, client)
    return {"streamKey": stream_key, "viewerCount": viewer_count(stream_key)}
