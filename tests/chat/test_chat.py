"""`/chat` over a real server: rooms, history, messages, moderation, acks and rate limits."""

from __future__ import annotations

import threading

import pytest
import redis

from dorami_api.chat.models import ChatModeration
from dorami_api.extensions import db
from tests.support.auth import signed_in
from tests.support.commerce import live_stream
from tests.support.sockets import viewers_on_distinct_workers

CHAT = "/chat"


@pytest.fixture
def server(live_server):
    return live_server()


@pytest.fixture
def stream_key(app):
    return live_stream(app, status="LIVE").key


def join(viewer, live_id):
    return viewer.call("chat:join-room", {"liveId": live_id}, CHAT)


def chatter(app, server, connect, **fields):
    """(user, viewer connected to /chat) of a fresh login."""
    me = signed_in(app, **fields)
    return me.user, connect(server.url, token=me.token, namespaces=[CHAT])


def send(viewer, live_id, message, **extra):
    return viewer.call("chat:send-message", {"liveId": live_id, "message": message, **extra}, CHAT)


def test_an_unknown_stream_key_cannot_be_joined(server, connect, app):
    token = signed_in(app).token
    viewer = connect(server.url, token=token, namespaces=[CHAT])
    assert join(viewer, "no-such-stream") == {
        "success": False,
        "errorCode": "STREAM_NOT_FOUND",
        "message": "No stream has this key",
    }


def test_a_message_reaches_the_room_cleaned_and_later_joiners_get_the_history(
    server, connect, app, stream_key, redis_url
):
    alice = signed_in(app, name="Alice", instagram_id="@alice")
    alice_user, alice_token = alice.user, alice.token
    bob_token = signed_in(app, name="Bob").token
    alice = connect(server.url, token=alice_token, namespaces=[CHAT])
    bob = connect(server.url, token=bob_token, namespaces=[CHAT])
    assert join(alice, stream_key)["success"] is True
    assert bob.call("chat:join-room", {"liveId": stream_key}, CHAT)["data"]["roomName"] == f"live:{stream_key}"
    assert bob.wait_for("chat:history", CHAT)["data"] == {"liveId": stream_key, "messages": []}

    answer = send(alice, stream_key, "  <b>hello</b> <script>x</script>there ", clientMessageId="c-1")
    assert answer["success"] is True and answer["data"]["clientMessageId"] == "c-1"
    message = bob.wait_for("chat:message", CHAT)["data"]
    assert message == {
        "id": answer["data"]["id"],
        "liveId": stream_key,
        "userId": str(alice_user.id),
        "username": "@alice",
        "message": "hello there",
        "clientMessageId": "c-1",
        "timestamp": answer["data"]["timestamp"],
    }
    send(bob, stream_key, "second")

    carol_token = signed_in(app, name="Carol").token
    carol = connect(server.url, token=carol_token, namespaces=[CHAT])
    join(carol, stream_key)
    history = carol.wait_for("chat:history", CHAT)["data"]["messages"]
    assert [m["message"] for m in history] == ["hello there", "second"]
    joined = alice.wait_for("chat:user-joined", CHAT, match=lambda d: d["data"]["username"] == "Carol")
    assert joined["type"] == "chat:user-joined"
    ttl = redis.Redis.from_url(redis_url).ttl(f"chat:{stream_key}:history")
    assert 0 < ttl <= 24 * 3600


def test_markup_reaches_other_viewers_as_plain_text_from_a_cleaned_name(server, connect, app, stream_key):
    # A name stored before names were cleaned on input is cleaned where other viewers see it.
    mallory_user, mallory = chatter(app, server, connect, name="<svg/onload=alert(1)>Mal\u202elory")
    _, bob = chatter(app, server, connect, name="Bob")
    join(mallory, stream_key)
    join(bob, stream_key)
    typed = [
        ("<img src=x onerror=alert(1)//", None),
        ("<svg/onload=alert(1)", None),
        ("hi <img src=x onerror=alert(1)>there\u200b\u202e!", "hi there!"),
        ("&lt;script&gt;alert(1)&lt;/script&gt;", None),
        ("a < b & c > d\nsecond line", "a < b & c > d\nsecond line"),
    ]
    for raw, shown in typed:
        answer = send(mallory, stream_key, raw)
        if shown is None:
            assert answer["errorCode"] == "INVALID_MESSAGE", raw  # nothing left once markup is removed
        else:
            assert answer["success"] is True, raw
    for raw in ("bell\x07", "escape\x1b[2J", "carriage\rreturn", "tab\tbed"):
        assert send(mallory, stream_key, raw)["errorCode"] == "VALIDATION_ERROR", raw
    barrier = send(mallory, stream_key, "done")["data"]["id"]
    bob.wait_for("chat:message", CHAT, match=lambda d: d["data"]["id"] == barrier)
    received = [event["data"] for event in bob.received("chat:message", CHAT)]
    assert [m["message"] for m in received] == ["hi there!", "a < b & c > d\nsecond line", "done"]
    assert {(m["userId"], m["username"]) for m in received} == {(str(mallory_user.id), "Mallory")}


def test_without_an_ack_the_answer_comes_as_success_and_error_events(server, connect, app, stream_key):
    token = signed_in(app).token
    viewer = connect(server.url, token=token, namespaces=[CHAT])
    viewer.emit("chat:send-message", {"liveId": stream_key, "message": "too early"}, CHAT)
    error = viewer.wait_for("error", CHAT)
    assert error["type"] == "error" and error["errorCode"] == "NOT_IN_ROOM"
    viewer.emit("chat:join-room", {"liveId": stream_key}, CHAT)
    success = viewer.wait_for("chat:join-room:success", CHAT)
    assert success == {
        "type": "chat:join-room:success",
        "data": {"liveId": stream_key, "roomName": f"live:{stream_key}"},
    }


def test_messages_are_checked(app, server, connect, stream_key):
    token = signed_in(app).token
    viewer = connect(server.url, token=token, namespaces=[CHAT])
    join(viewer, stream_key)
    assert send(viewer, stream_key, "<i></i>   ")["errorCode"] == "INVALID_MESSAGE"
    assert send(viewer, stream_key, 42)["errorCode"] == "INVALID_MESSAGE"
    assert send(viewer, stream_key, "x" * 501)["errorCode"] == "MESSAGE_TOO_LONG"
    assert send(viewer, stream_key, "x" * 500)["success"] is True
    assert viewer.call("chat:send-message", "not an object", CHAT)["errorCode"] == "VALIDATION_ERROR"

    ended = live_stream(app, status="ENDED").key
    assert join(viewer, ended)["success"] is True
    assert send(viewer, ended, "after the show")["errorCode"] == "STREAM_ENDED"


def test_admins_delete_messages_and_mute_and_ban_for_a_time(app, server, connect, stream_key):
    admin = signed_in(app, role="ADMIN", name="Boss")
    admin_user, admin_token = admin.user, admin.token
    bob = signed_in(app, name="Bob")
    bob_user, bob_token = bob.user, bob.token
    admin = connect(server.url, token=admin_token, namespaces=[CHAT])
    bob = connect(server.url, token=bob_token, namespaces=[CHAT])
    join(admin, stream_key)
    join(bob, stream_key)

    sent = send(bob, stream_key, "spam")["data"]
    assert bob.call("chat:delete-message", {"liveId": stream_key, "messageId": sent["id"]}, CHAT)["errorCode"] == (
        "FORBIDDEN"
    )
    deleted = admin.call("chat:delete-message", {"liveId": stream_key, "messageId": sent["id"]}, CHAT)
    assert deleted["data"]["removedFromHistory"] is True
    assert bob.wait_for("chat:message-deleted", CHAT)["data"]["messageId"] == sent["id"]

    assert bob.call("chat:mute-user", {"liveId": stream_key, "userId": str(admin_user.id)}, CHAT)["errorCode"] == (
        "FORBIDDEN"
    )
    muted = admin.call("chat:mute-user", {"liveId": stream_key, "userId": str(bob_user.id), "minutes": 5}, CHAT)
    assert muted["success"] is True and muted["data"]["action"] == "MUTE"
    assert bob.wait_for("chat:user-muted", CHAT)["data"]["minutes"] == 5
    assert admin.wait_for("chat:user-muted", CHAT)["data"]["userId"] == str(bob_user.id)
    refused = send(bob, stream_key, "let me talk")
    assert refused["errorCode"] == "CHAT_MUTED" and refused["until"] == muted["data"]["expiresAt"]

    admin.call("chat:ban-user", {"liveId": stream_key, "userId": str(bob_user.id), "minutes": 60}, CHAT)
    bob.wait_for("chat:user-banned", CHAT)
    # A ban takes Bob out of the room: the admin's next message (the admin's own copy is the
    # barrier) does not reach him, and he cannot come back.
    after = send(admin, stream_key, "after the ban")["data"]["id"]
    admin.wait_for("chat:message", CHAT, match=lambda d: d["data"]["id"] == after)
    assert not bob.received("chat:message", CHAT, match=lambda d: d["data"]["id"] == after)
    assert join(bob, stream_key)["errorCode"] == "CHAT_BANNED"
    with app.app_context():
        actions = sorted(db.session.scalars(db.select(ChatModeration.action)).all())
    assert actions == ["BAN", "DELETE_MESSAGE", "MUTE"]


def test_a_chatty_user_is_rate_limited_and_stays_connected(server, connect, app, stream_key):
    token = signed_in(app).token
    viewer = connect(server.url, token=token, namespaces=[CHAT])
    join(viewer, stream_key)
    answers = [send(viewer, stream_key, f"m{i}") for i in range(21)]
    assert all(answer["success"] for answer in answers[:20])
    assert answers[20]["errorCode"] == "RATE_LIMIT_EXCEEDED"
    assert 1 <= answers[20]["retryAfter"] <= 10
    assert viewer.client.connected
    # Other events have their own budget.
    assert viewer.call("chat:leave-room", {"liveId": stream_key}, CHAT)["success"] is True


def test_the_message_limit_is_per_user_across_workers(app, live_server):
    server = live_server(workers=2)
    stream_key = live_stream(app).key
    token = signed_in(app).token
    tabs = viewers_on_distinct_workers(server, token, namespaces=[CHAT])
    try:
        for tab in tabs:
            join(tab, stream_key)
        answers = [send(tabs[i % 2], stream_key, f"m{i}") for i in range(22)]
        assert sum(answer["success"] for answer in answers) == 20
        assert {answer["errorCode"] for answer in answers[20:]} == {"RATE_LIMIT_EXCEEDED"}
    finally:
        for tab in tabs:
            tab.close()


def test_other_events_share_a_budget_of_100_per_10_seconds(server, connect, app, stream_key):
    token = signed_in(app).token
    viewer = connect(server.url, token=token, namespaces=[CHAT])
    request = {"liveId": stream_key, "messageId": "m"}
    answers = [viewer.call("chat:delete-message", request, CHAT) for _ in range(101)]
    assert {answer["errorCode"] for answer in answers[:100]} == {"FORBIDDEN"}
    assert answers[100]["errorCode"] == "RATE_LIMIT_EXCEEDED"


def test_events_sent_at_once_are_counted_exactly_and_per_user(server, connect, app, stream_key):
    """The hits of events a process receives together are counted in one Redis call: 150 events
    of one user sent at once from three tabs still leave exactly 100 within the budget, and
    another user's events in the same burst are counted on their own budget."""
    alice, bob = signed_in(app).token, signed_in(app).token
    tabs = [connect(server.url, token=alice, namespaces=[CHAT]) for _ in range(3)]
    other = connect(server.url, token=bob, namespaces=[CHAT])
    request = {"liveId": stream_key, "messageId": "m"}
    answers: dict[str, list[str]] = {"alice": [], "bob": []}
    done = threading.Semaphore(0)

    def answered(who):
        def record(answer):
            answers[who].append(answer["errorCode"])
            done.release()

        return record

    for i in range(150):
        tabs[i % 3].client.emit("chat:delete-message", request, namespace=CHAT, callback=answered("alice"))
        if i % 3 == 0:
            other.client.emit("chat:delete-message", request, namespace=CHAT, callback=answered("bob"))
    for _ in range(200):
        assert done.acquire(timeout=10), answers
    assert sorted(answers["alice"]) == ["FORBIDDEN"] * 100 + ["RATE_LIMIT_EXCEEDED"] * 50
    assert answers["bob"] == ["FORBIDDEN"] * 50


def test_refused_messages_count_against_the_limit_and_are_neither_kept_nor_sent(app, server, connect, stream_key):
    _, admin = chatter(app, server, connect, role="ADMIN", name="Boss")
    bob_user, bob = chatter(app, server, connect, name="Bob")
    # Messages refused before they reach the room still use up the sender's budget.
    refused = [send(bob, stream_key, f"early {i}") for i in range(10)]
    assert {answer["errorCode"] for answer in refused} == {"NOT_IN_ROOM"}
    join(admin, stream_key)
    join(bob, stream_key)
    assert send(bob, stream_key, "hello")["success"] is True
    admin.call("chat:mute-user", {"liveId": stream_key, "userId": str(bob_user.id), "minutes": 5}, CHAT)
    muted = [send(bob, stream_key, f"muted {i}") for i in range(9)]
    assert {answer["errorCode"] for answer in muted} == {"CHAT_MUTED"}
    over = send(bob, stream_key, "one too many")
    assert over["errorCode"] == "RATE_LIMIT_EXCEEDED" and 1 <= over["retryAfter"] <= 10

    # Only the accepted message reached the room and its history.
    barrier = send(admin, stream_key, "admin speaking")["data"]["id"]
    admin.wait_for("chat:message", CHAT, match=lambda d: d["data"]["id"] == barrier)
    assert [d["data"]["message"] for d in admin.received("chat:message", CHAT)] == ["hello", "admin speaking"]
    _, carol = chatter(app, server, connect, name="Carol")
    join(carol, stream_key)
    history = carol.wait_for("chat:history", CHAT)["data"]["messages"]
    assert [m["message"] for m in history] == ["hello", "admin speaking"]


def test_the_chat_name_is_the_instagram_handle_else_the_name_else_anonymous(server, connect, app, stream_key):
    for fields, shown in (({"name": "Dana", "instagram_id": "@dana"}, "@dana"), ({"name": "Dana"}, "Dana")):
        _, viewer = chatter(app, server, connect, **fields)
        join(viewer, stream_key)
        sent = send(viewer, stream_key, "hi")["data"]["id"]
        message = viewer.wait_for("chat:message", CHAT, match=lambda d, sent=sent: d["data"]["id"] == sent)
        assert message["data"]["username"] == shown
    _, viewer = chatter(app, server, connect, name="")
    join(viewer, stream_key)
    assert viewer.wait_for("chat:history", CHAT)
    sent = send(viewer, stream_key, "hi")["data"]["id"]
    assert viewer.wait_for("chat:message", CHAT, match=lambda d: d["data"]["id"] == sent)["data"]["username"] == "익명"
