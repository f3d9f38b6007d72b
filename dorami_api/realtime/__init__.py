"""The Socket.IO transport: one Flask-SocketIO server shared by every process through the Redis
message queue, three namespaces, and broadcast.py — the only place that knows event names and
rooms. The features that speak over it (chat, presence) live in their own packages.

Modules: server (options, message queue, ack detection), connections (connect-time
authentication, through the sessions auth remembers for HTTP too, and the sockets of this
process), replies (ack or `*:success` / `error`), socket_limits (per-user event limits),
commerce (`/`: joining a stream's product room), revocation (cutting revoked sessions' sockets on
every process), control (commands each process runs on the sockets it holds), operations (metrics
and graceful shutdown), coalesce / pacing / timers (broadcast timing).
"""
