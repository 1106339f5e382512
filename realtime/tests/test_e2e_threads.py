"""Threads across two real daphne processes sharing one database and one Redis (see test_e2e.py)."""

from __future__ import annotations

import json

import pytest

from realtime.tests.e2e_cluster import connect, follow, live, next_frame

pytestmark = [pytest.mark.e2e, pytest.mark.redis, pytest.mark.timeout(300)]


async def test_a_thread_reply_on_one_process_reaches_the_room_and_the_roots_author_on_the_other(cluster, people):
    """Threads across processes: the reply and the root's thread_updated frame reach a follower of the
    room on B, the root's author gets a thread_reply notification on B, and B's REST lists the thread."""
    _, ana_token = people["ana"]
    _, ben_token = people["ben"]
    _, cid_token = people["cid"]
    status, root = cluster["a"].request("POST", "/api/v1/messages/", {"content": "thread root"}, token=ana_token)
    assert status == 201
    watcher = await follow(cluster["b"], ben_token)
    ana_notifications = await connect(cluster["b"], ana_token, path="/ws/notifications/")
    await live(ana_notifications)
    replier = await connect(cluster["a"], cid_token)

    await replier.send(json.dumps({"type": "message", "content": "a reply", "reply_to": root["id"]}))
    ack = await next_frame(replier, "ack")
    updated = await next_frame(watcher, "thread_updated")
    notification = (await next_frame(ana_notifications, "notification"))["notification"]
    _, thread = cluster["b"].request("GET", f"/api/v1/messages/{root['id']}/thread/", token=ben_token)

    assert updated["message_id"] == root["id"]
    assert updated["reply_count"] == 1
    assert notification["kind"] == "thread_reply"
    assert notification["data"]["thread_root"] == root["id"]
    assert [reply["id"] for reply in thread["replies"]] == [ack["id"]]
    assert thread["root"]["reply_count"] == 1
    for ws in (watcher, ana_notifications, replier):
        await ws.close()
