"""Reactions, pins and formatting across two real daphne processes: a change made on one process (over
its socket or its HTTP API) reaches a socket of the same room on the other."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import quote

import pytest

from realtime.tests.e2e_cluster import connect, follow, next_frame, next_message

pytestmark = [pytest.mark.e2e, pytest.mark.redis, pytest.mark.timeout(300)]

THUMBS = "\N{THUMBS UP SIGN}"


async def test_reactions_and_pins_made_on_one_process_reach_the_other(cluster, people):
    ana_id, ana_token = people["ana"]
    _, ben_token = people["ben"]
    sender = await connect(cluster["a"], ana_token)
    receiver = await follow(cluster["b"], ben_token)

    await sender.send(json.dumps({"type": "message", "content": "**ship** it"}))
    message = await next_message(receiver)
    await sender.send(json.dumps({"type": "react", "message_id": message["id"], "emoji": THUMBS, "added": True}))
    reaction = await next_frame(receiver, "reaction")
    path = f"/api/v1/messages/{message['id']}/reactions/{quote(THUMBS)}/"
    status, reactions = await asyncio.to_thread(cluster["a"].request, "PUT", path, None, ben_token)
    pin_status, _ = await asyncio.to_thread(
        cluster["a"].request, "PUT", f"/api/v1/messages/{message['id']}/pin/", None, ana_token
    )
    pinned = await next_frame(receiver, "message_pinned")

    assert message["html"] == "<p><strong>ship</strong> it</p>"
    assert reaction["emoji"] == THUMBS
    assert reaction["user"]["id"] == ana_id
    assert status == pin_status == 200
    assert reactions[0]["count"] == 2
    assert pinned["message_id"] == message["id"]
    await sender.close()
    await receiver.close()
