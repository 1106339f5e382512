"""Presence in the database (the store without Redis): one process, or several sharing the database."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count

from realtime.batching import Coalescer
from realtime.presence.base import Admission, Heartbeat


class AdmitRequest(NamedTuple):
    client: str
    user_id: int
    limit: int


class DatabasePresence:
    """Presence in two tables, for deployments without Redis (one process, or a shared database)."""

    def __init__(self, *, process_id: str) -> None:
        self.process_id = process_id
        # A connect storm's admissions share one trip to the database thread and one transaction.
        self._admit: Coalescer[AdmitRequest, Admission] = Coalescer(database_sync_to_async(self.admit_many_sync))

    @staticmethod
    def _now() -> datetime:
        return datetime.now(UTC)

    def _expiry(self) -> datetime:
        return self._now() + timedelta(seconds=settings.CHAT_PRESENCE_EXPIRY)

    @staticmethod
    def _lock_user(user_id: int) -> None:
        """Serialize presence changes of one user, so that concurrent first sockets (or last
        sockets) on PostgreSQL cannot each see only their own row. (SQLite serializes writers.)"""
        from users.models import User

        list(User.objects.select_for_update().filter(pk=user_id).values_list("pk", flat=True))

    def _live_count(self, user_id: int) -> int:
        from realtime.models import PresenceConnection

        return PresenceConnection.objects.filter(user_id=user_id, process__expires_at__gte=self._now()).count()

    def admit_sync(self, *, client: str, user_id: int, limit: int = 0) -> Admission:
        """Register a socket unless its user has ``limit`` live sockets already (0: no limit)."""
        from realtime.models import PresenceConnection, PresenceProcess

        for _attempt in range(2):
            try:
                with transaction.atomic():
                    self._lock_user(user_id)
                    live = self._live_count(user_id)
                    if limit and live >= limit:
                        return Admission.REFUSED
                    PresenceConnection.objects.create(process_id=self.process_id, client=client, user_id=user_id)
                    return Admission.ANOTHER if live else Admission.FIRST
            except IntegrityError:
                # Either this socket is registered already, or our process row is missing (first
                # socket, or expired by another process): renew the row once and try again.
                if PresenceConnection.objects.filter(process_id=self.process_id, client=client).exists():
                    return Admission.ANOTHER
                PresenceProcess.objects.update_or_create(pk=self.process_id, defaults={"expires_at": self._expiry()})
        return Admission.ANOTHER  # the user was deleted meanwhile

    def admit_many_sync(self, requests: list[AdmitRequest]) -> list[Admission]:
        """``admit_sync`` for several sockets in one transaction: the users locked in one query (in id
        order, so concurrent processes cannot deadlock), their live sockets counted in one, the new
        rows inserted in one. Anything unusual (a socket registered already, our process row missing, a
        user deleted meanwhile) falls back to ``admit_sync`` one by one."""
        from realtime.models import PresenceConnection
        from users.models import User

        if len(requests) == 1:
            return [self.admit_sync(**requests[0]._asdict())]
        user_ids = sorted({request.user_id for request in requests})
        try:
            with transaction.atomic():
                list(User.objects.select_for_update().filter(pk__in=user_ids).order_by("pk").values_list("pk"))
                counted = (
                    PresenceConnection.objects.filter(user_id__in=user_ids, process__expires_at__gte=self._now())
                    .values("user_id")
                    .annotate(live=Count("pk"))
                    .values_list("user_id", "live")
                )
                live: Counter[int] = Counter(dict(counted))
                answers: list[Admission] = []
                rows: list[PresenceConnection] = []
                for client, user_id, limit in requests:
                    if limit and live[user_id] >= limit:
                        answers.append(Admission.REFUSED)
                        continue
                    answers.append(Admission.ANOTHER if live[user_id] else Admission.FIRST)
                    live[user_id] += 1
                    rows.append(PresenceConnection(process_id=self.process_id, client=client, user_id=user_id))
                PresenceConnection.objects.bulk_create(rows)
                return answers
        except IntegrityError:
            return [self.admit_sync(**request._asdict()) for request in requests]

    def add_sync(self, *, client: str, user_id: int) -> bool:
        return self.admit_sync(client=client, user_id=user_id) is Admission.FIRST

    def remove_sync(self, *, client: str, user_id: int) -> bool:
        from realtime.models import PresenceConnection

        with transaction.atomic():
            self._lock_user(user_id)
            deleted, _ = PresenceConnection.objects.filter(process_id=self.process_id, client=client).delete()
            return bool(deleted) and self._live_count(user_id) == 0

    def heartbeat_sync(self) -> Heartbeat:
        from realtime.models import PresenceConnection, PresenceProcess

        with transaction.atomic():
            _, created = PresenceProcess.objects.update_or_create(
                pk=self.process_id, defaults={"expires_at": self._expiry()}
            )
            dead = PresenceProcess.objects.filter(expires_at__lt=self._now())
            affected = set(PresenceConnection.objects.filter(process__in=dead).values_list("user_id", flat=True))
            dead.delete()
            still_here = set(
                PresenceConnection.objects.filter(
                    user_id__in=affected, process__expires_at__gte=self._now()
                ).values_list("user_id", flat=True)
            )
        return Heartbeat(not created, sorted(affected - still_here))

    async def admit(self, *, client: str, user_id: int, limit: int) -> Admission:
        return await self._admit(AdmitRequest(client, user_id, limit))

    async def add(self, *, client: str, user_id: int) -> bool:
        return await database_sync_to_async(self.add_sync)(client=client, user_id=user_id)

    async def remove(self, *, client: str, user_id: int) -> bool:
        return await database_sync_to_async(self.remove_sync)(client=client, user_id=user_id)

    async def heartbeat(self) -> Heartbeat:
        return await database_sync_to_async(self.heartbeat_sync)()

    async def close(self) -> None:
        return None

    def clients_sync(self) -> list[str]:
        from realtime.models import PresenceConnection

        live = PresenceConnection.objects.filter(process__expires_at__gte=self._now())
        return list(live.values_list("client", flat=True))
