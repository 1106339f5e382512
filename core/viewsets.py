"""The base of the API's viewsets: permissions and throttles declared once, on the viewset.

A viewset names its defaults in DRF's ``permission_classes`` / ``throttle_classes`` and the actions
that differ in ``action_permissions`` / ``action_throttles`` (e.g. sign-up open to anyone and throttled
per address, uploads throttled per user), so a reader sees every rule of a resource in one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from rest_framework.permissions import BasePermission
from rest_framework.throttling import BaseThrottle
from rest_framework.viewsets import GenericViewSet


# GenericViewSet is generic in its stubs only: DRF's class cannot be subscripted at run time.
class ApiViewSet(GenericViewSet):  # type: ignore[type-arg]
    action_permissions: ClassVar[Mapping[str, Sequence[type[BasePermission]]]] = {}
    action_throttles: ClassVar[Mapping[str, Sequence[type[BaseThrottle]]]] = {}

    def get_permissions(self) -> Sequence[BasePermission]:
        classes: Sequence[Any] = self.action_permissions.get(self.action or "", self.permission_classes)
        return [permission() for permission in classes]

    def get_throttles(self) -> list[BaseThrottle]:
        classes: Sequence[Any] = self.action_throttles.get(self.action or "", self.throttle_classes)
        return [throttle() for throttle in classes]
