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
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid

from flask import Flask
from flask_socketio import join_room, leave_room

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

# KEYS: viewers, holders. ARGV: participant, process, expiry, now, holder TTL. Sets `count`.
_ENTER_LUA = """
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[5])
local current = redis.call('ZSCORE', KEYS[1], ARGV[1])
if (not current) or tonumber(current) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
redis.call('EXPIRE', KEYS[1], 86400)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[4])
local count = redis.call('ZCARD', KEYS[1])
"""

# KEYS: viewers, holders. ARGV: participant, process, now. Sets `count`.
_LEAVE_LUA = """
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
local rest = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if #rest == 0 then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], rest[2], ARGV[1])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local count = redis.call('ZCARD', KEYS[1])
"""

# The count changed. The last two KEYS are the stream's tick and dirty mark, the last ARGV this
# process. `announce` = 1: this process broadcasts now; 0: someone broadcast within the second,
# leave a dirty mark for their trailing broadcast.
_CHANGED_LUA = """
local announce = 0
if redis.call('SET', KEYS[#KEYS - 1], ARGV[#ARGV], 'NX', 'PX', 1500) then
  announce = 1
else
  redis.call('SET', KEYS[#KEYS], '1', 'PX', 10000)
end
"""

_ENTER = _ENTER_LUA + "return count\n"
_CHANGED = "local count = 0\n" + _CHANGED_LUA + "return {count, announce}\n"
# A join or a leave, and its viewer update, in one round trip.
_ENTER_CHANGED = _ENTER_LUA + _CHANGED_LUA + "return {count, announce}\n"
_LEAVE_CHANGED = _LEAVE_LUA + _CHANGED_LUA + "return {count, announce}\n"

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


def _enter_args(stream_key: str, participant: str) -> tuple[list, list]:
    now, ttl = time.time(), _state().ttl
    keys = [viewers_key(stream_key), _holders_key(stream_key, participant)]
    return keys, [participant, PROCESS_ID, now + ttl, now, ttl]


def _enter(stream_key: str, participant: str, client=None) -> int:
    """Re-stamp a participant (the refresher, in a pipeline)."""
    keys, args = _enter_args(stream_key, participant)
    return redis_store.run_script(_ENTER, keys, args, client=client)


def _enter_and_announce(stream_key: str, participant: str) -> int:
    keys, args = _enter_args(stream_key, participant)
    return _changed_by(_ENTER_CHANGED, stream_key, keys, args)


def _leave_and_announce(stream_key: str, participant: str) -> int:
    keys = [viewers_key(stream_key), _holders_key(stream_key, participant)]
    return _changed_by(_LEAVE_CHANGED, stream_key, keys, [participant, PROCESS_ID, time.time()])


def _changed_by(script: str, stream_key: str, keys: list, args: list) -> int:
    count, announce = redis_store.run_script(script, [*keys, *_tick_keys(stream_key)], [*args, PROCESS_ID])
    if announce:
        socketio.start_background_task(_announce_loop, stream_key)
    return int(count)


# --- coalesced viewer updates ------------------------------------------------------------------


def _tick_keys(stream_key: str) -> list[str]:
    return [f"stream:{stream_key}:viewer-update:tick", f"stream:{stream_key}:viewer-update:dirty"]


def count_changed(stream_key: str) -> None:
    _changed_by(_CHANGED, stream_key, [], [])


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
        _leave_and_announce(stream_key, client.participant)


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
        count = _enter_and_announce(stream_key, client.participant)
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
