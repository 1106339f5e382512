"""Sending one delivery: a background job, retried with exponential backoff, logged for the bot's owner.

Each try POSTs the event as JSON, signed (``integrations.signing``), to the address checked by
``integrations.ssrf``. A 2xx answer ends the delivery; a JSON answer ``{"text": "..."}`` is posted into the
room as the bot, with the delivery's id as client_id, so a try that runs twice (a worker killed after
the POST) cannot post the reply twice. Any other outcome is a failed try: tried again by the policy
below (6 tries over about an hour), and after CHAT_WEBHOOK_DISABLE_AFTER failed tries in a row the
subscription is disabled and its owner notified.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
from typing import Any, NoReturn

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from core.errors import ApplicationError
from integrations import http as outgoing
from integrations import limits, signing, ssrf
from integrations.models import Delivery, Subscription
from jobs import Backoff, GiveUp, RetryLater, current_attempt, job
from messaging import events
from messaging.models import Notification
from messaging.services import message_send
from realtime.kernel import UserFrame, encode, publish

logger = logging.getLogger(__name__)

# 6 tries; waits of about 2, 4, 8, 16 and 32 minutes (CHAT_WEBHOOK_RETRY_BASE doubling): the last try
# about an hour after the first.
RETRY = Backoff(attempts=6, base=settings.CHAT_WEBHOOK_RETRY_BASE, factor=2, cap=3600)
Status = Delivery.Status
LOST_SIGNING_KEY = (
    "The signing secret cannot be read (SECRET_KEY changed without SECRET_KEY_FALLBACKS): give the "
    "subscription a new secret (POST .../subscriptions/{id}/rotate/)."
)


def _gave_up(kwargs: dict[str, Any], error: BaseException) -> None:
    Delivery.objects.filter(pk=kwargs["delivery_id"], status=Status.PENDING).update(
        status=Status.FAILED, finished_at=timezone.now()
    )


@job(retry=RETRY, on_give_up=_gave_up)
def deliver(*, delivery_id: int) -> None:
    """One try of one delivery (safe to repeat: a finished delivery is not sent again)."""
    delivery = Delivery.objects.select_related("subscription__bot", "room").filter(pk=delivery_id).first()
    if delivery is None:
        raise GiveUp("the delivery is gone (its subscription was deleted)")
    if delivery.status != Status.PENDING:
        return
    subscription = delivery.subscription
    if not subscription.is_active:
        _finish(delivery, Status.CANCELLED, error="The subscription is disabled.")
        return
    delivery.attempts = F("attempts") + 1
    delivery.last_attempt_at = timezone.now()
    delivery.save(update_fields=["attempts", "last_attempt_at"])
    if not subscription.secret:
        # Sealed under a SECRET_KEY that is gone (core/sealing.py): never sign with an empty key.
        _failed(delivery, LOST_SIGNING_KEY, status=None)
    try:
        answer = _send(delivery)
    except (ssrf.RefusedTarget, OSError, http.client.HTTPException) as error:
        _failed(delivery, _describe(error), status=None)
    if not 200 <= answer.status < 300:
        _failed(delivery, f"The receiver answered HTTP {answer.status}.", status=answer.status)
    _succeeded(delivery, answer)


def delivery_body(delivery: Delivery, timestamp: int) -> bytes:
    """The JSON body of a try: the event as stored, with the delivery's id and the try's time."""
    body = {**delivery.payload, "delivery": delivery.pk, "timestamp": timestamp}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _send(delivery: Delivery) -> outgoing.Answer:
    subscription = delivery.subscription
    target = ssrf.resolve(subscription.url)
    timestamp = int(time.time())
    body = delivery_body(delivery, timestamp)
    headers = {
        signing.TIMESTAMP_HEADER: str(timestamp),
        signing.SIGNATURE_HEADER: signing.signature(subscription.secret, timestamp, body),
        "X-Chat-Event": delivery.event,
        "X-Chat-Delivery": str(delivery.pk),
    }
    return outgoing.post(
        target,
        body=body,
        headers=headers,
        timeout=settings.CHAT_WEBHOOK_TIMEOUT,
        max_response=settings.CHAT_WEBHOOK_MAX_RESPONSE,
    )


def _succeeded(delivery: Delivery, answer: outgoing.Answer) -> None:
    note = ""
    text = _reply_text(answer.body)
    if text:
        subscription = delivery.subscription
        try:
            result = message_send(
                sender=subscription.bot, content=text, room=delivery.room, client_id=f"delivery-{delivery.pk}"
            )
            delivery.reply = result.message
        except ApplicationError as refused:
            note = f"The reply was not posted: {refused.detail}"
    Subscription.objects.filter(pk=delivery.subscription_id).update(failures_in_a_row=0)
    _finish(delivery, Status.SUCCEEDED, error=note, response_code=answer.status)


def _reply_text(body: bytes) -> str:
    try:
        answer = json.loads(body)
    except ValueError:
        return ""
    text = answer.get("text") if isinstance(answer, dict) else None
    return text.strip() if isinstance(text, str) else ""


def _failed(delivery: Delivery, error: str, *, status: int | None) -> NoReturn:
    """Record a failed try, disable the subscription after too many in a row, and raise for the retry."""
    Subscription.objects.filter(pk=delivery.subscription_id).update(failures_in_a_row=F("failures_in_a_row") + 1)
    subscription = Subscription.objects.select_related("bot__bot_owner").get(pk=delivery.subscription_id)
    last_try = current_attempt() >= RETRY.attempts
    if subscription.failures_in_a_row >= settings.CHAT_WEBHOOK_DISABLE_AFTER:
        _disable(subscription, f"{subscription.failures_in_a_row} failed tries in a row; the last: {error}")
        _finish(delivery, Status.FAILED, error=error, response_code=status)
        raise GiveUp(error)
    if last_try:
        _finish(delivery, Status.FAILED, error=error, response_code=status)
        raise GiveUp(error)
    Delivery.objects.filter(pk=delivery.pk).update(error=error[: limits.ERROR_TEXT], response_code=status)
    raise RetryLater(error)


def _finish(delivery: Delivery, status: str, *, error: str = "", response_code: int | None = None) -> None:
    delivery.status = status
    delivery.error = error[: limits.ERROR_TEXT]
    delivery.response_code = response_code
    delivery.finished_at = timezone.now()
    delivery.save(update_fields=["status", "error", "response_code", "finished_at", "reply"])


def _disable(subscription: Subscription, reason: str) -> None:
    """Turn a failing subscription off and tell the bot's owner (a notification, stored and pushed)."""
    subscription.is_active = False
    subscription.disabled_at = timezone.now()
    subscription.disabled_reason = reason[:300]
    subscription.save(update_fields=["is_active", "disabled_at", "disabled_reason"])
    owner = subscription.bot.bot_owner
    logger.warning("Webhook subscription %s disabled: %s", subscription.pk, reason)
    if owner is None:
        return
    notification = Notification.objects.create(
        recipient=owner,
        kind=Notification.Kind.USER,
        title=f"The webhook of your bot @{subscription.bot.username} was disabled"[:200],
        body=reason,
        data={"bot": subscription.bot_id, "subscription": subscription.pk, "url": subscription.url},
    )
    publish(UserFrame(user_id=owner.pk, kind="notifications", frame=encode(events.notification_created(notification))))


def _describe(error: BaseException) -> str:
    if isinstance(error, ssrf.RefusedTarget):
        return error.detail
    if isinstance(error, TimeoutError):
        return "The receiver did not answer in time."
    return f"{type(error).__name__}: {error}"[: limits.ERROR_TEXT]
