"""Rooms, their members, direct-message rooms and read state: one viewset, sub-resources as actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from core.openapi import ERROR
from core.viewsets import ApiViewSet
from messaging import selectors, services
from messaging.models import RoomSanction
from messaging.serializers import (
    AddMemberSerializer,
    BanCreateSerializer,
    DirectRoomSerializer,
    MarkReadSerializer,
    MemberRoleSerializer,
    MembershipSerializer,
    MembershipUpdateSerializer,
    MessageSerializer,
    MuteCreateSerializer,
    RoomCreateSerializer,
    RoomSerializer,
    RoomUpdateSerializer,
    SanctionSerializer,
)
from messaging.services import moderation
from users.authentication import AuthenticatedRequest, request_user
from users.selectors import user_get

F = TypeVar("F", bound=Callable[..., Any])

# The body of a new ban or mute: a ban may be for good (``until`` omitted), a mute always ends.
SANCTION_BODIES: dict[str, type[serializers.Serializer[Any]]] = {
    RoomSanction.Kind.BAN: BanCreateSerializer,
    RoomSanction.Kind.MUTE: MuteCreateSerializer,
}


def sanction_docs(kind: str, noun: str, post_summary: str) -> Callable[[F], F]:
    """The OpenAPI description of ``/bans/`` or ``/mutes/`` (``kind``, called ``noun``): GET lists the
    ones in force, POST adds one."""
    listing = extend_schema(
        methods=["GET"],
        summary=f"{noun} in force in a room (its moderators)",
        responses={200: SanctionSerializer(many=True), 403: ERROR, 404: ERROR},
    )
    adding = extend_schema(
        methods=["POST"],
        summary=post_summary,
        request=SANCTION_BODIES[kind],
        responses={201: SanctionSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    )
    return lambda view: listing(adding(view))


# The serializer of each (action, method) the browsable API builds a form for; the rest show RoomSerializer.
FORMS: dict[tuple[str | None, str | None], type[serializers.BaseSerializer[Any]]] = {
    ("create", "POST"): RoomCreateSerializer,
    ("partial_update", "PATCH"): RoomUpdateSerializer,
    ("member_role", "PATCH"): MemberRoleSerializer,
    ("membership", "PATCH"): MembershipUpdateSerializer,
    ("members", "GET"): MembershipSerializer,
    ("members", "POST"): AddMemberSerializer,
    ("read", "POST"): MarkReadSerializer,
    ("direct", "POST"): DirectRoomSerializer,
    ("bans", "POST"): BanCreateSerializer,
    ("mutes", "POST"): MuteCreateSerializer,
}


def _room_out(request: AuthenticatedRequest, slug: str) -> dict[str, Any]:
    room = selectors.room_list_for_user(user=request.user).get(slug=slug)
    return RoomSerializer(room).data


# /rooms/ and /rooms/{slug}/, with the room's members, read state and direct rooms as actions: the home of
# any new sub-resource of a room (pins, bans, webhooks...). No class docstring: drf-spectacular would copy
# it into every operation's description.
class RoomViewSet(ApiViewSet):
    lookup_field = "slug"
    lookup_value_converter = "slug"
    serializer_class = RoomSerializer

    def get_queryset(self) -> QuerySet[Any]:
        """The rows a list page shows (the browsable API builds its filter form from this too): the
        caller's rooms, or the members of the room in the URL, which the caller must be able to read."""
        user = request_user(self.request)
        if self.action == "members":
            room = selectors.room_get_for_user(user=user, slug=self.kwargs["slug"])
            return selectors.room_members(user=user, room=room)
        return selectors.room_list_for_user(user=user)

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        """The browsable API's forms show what each method takes."""
        return FORMS.get((self.action, self.request.method), RoomSerializer)

    @extend_schema(summary="Rooms you may read, with unread counts", responses={200: RoomSerializer(many=True)})
    def list(self, request: AuthenticatedRequest) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(RoomSerializer(page, many=True).data)

    @extend_schema(
        summary="Create a public or private room (you become its owner)",
        request=RoomCreateSerializer,
        responses={201: RoomSerializer, 400: ERROR},
    )
    def create(self, request: AuthenticatedRequest) -> Response:
        body = RoomCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        room = services.room_create(actor=request.user, **body.validated_data)
        return Response(_room_out(request, room.slug), status=status.HTTP_201_CREATED)

    @extend_schema(summary="One room", responses={200: RoomSerializer, 404: ERROR})
    def retrieve(self, request: AuthenticatedRequest, slug: str) -> Response:
        selectors.room_get_for_user(user=request.user, slug=slug)
        return Response(_room_out(request, slug))

    @extend_schema(
        summary=(
            "Rename a room, set its topic, archive or unarchive it (owners, administrators; moderators: topic), "
            "or set its post_policy (room and workspace moderators)"
        ),
        request=RoomUpdateSerializer,
        responses={200: RoomSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    )
    def partial_update(self, request: AuthenticatedRequest, slug: str) -> Response:
        body = RoomUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        room = selectors.room_get_for_user(user=request.user, slug=slug)
        services.room_update(actor=request.user, room=room, changes=dict(body.validated_data))
        return Response(_room_out(request, slug))

    @extend_schema(
        summary="Delete a room with its messages and files (owners, administrators)",
        responses={204: None, 400: ERROR, 403: ERROR, 404: ERROR},
    )
    def destroy(self, request: AuthenticatedRequest, slug: str) -> Response:
        room = selectors.room_get_for_user(user=request.user, slug=slug)
        services.room_delete(actor=request.user, room=room)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="The direct-message room with a user, or with a group of 2 to 8 others (created on first use)",
        request=DirectRoomSerializer,
        responses={201: RoomSerializer, 200: RoomSerializer, 400: ERROR, 404: ERROR},
    )
    @action(detail=False, methods=["post"])
    def direct(self, request: AuthenticatedRequest) -> Response:
        body = DirectRoomSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user_ids = body.validated_data.get("users") or [body.validated_data["user"]]
        room, created = services.direct_room_with(actor=request.user, user_ids=user_ids)
        return Response(
            _room_out(request, room.slug), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(
        methods=["GET"],
        summary="Members of a room",
        responses={200: MembershipSerializer(many=True), 404: ERROR},
    )
    @extend_schema(
        methods=["POST"],
        summary="Join a public room (no body), or add a user (room managers)",
        request=AddMemberSerializer,
        responses={201: MembershipSerializer, 403: ERROR, 404: ERROR},
    )
    @action(detail=True, methods=["get", "post"])
    def members(self, request: AuthenticatedRequest, slug: str) -> Response:
        if request.method == "GET":
            page = self.paginate_queryset(self.get_queryset())
            return self.get_paginated_response(MembershipSerializer(page, many=True).data)
        body = AddMemberSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        room = selectors.room_get_for_user(user=request.user, slug=slug)
        if "user" in body.validated_data and body.validated_data["user"] != request.user.pk:
            other = user_get(actor=request.user, user_id=body.validated_data["user"])
            membership = services.room_add_member(actor=request.user, room=room, user=other)
        else:
            membership = services.room_join(actor=request.user, room=room)
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Leave a room (your id or 'me'), or remove a member (room managers)",
        responses={204: None, 403: ERROR, 404: ERROR},
    )
    @action(detail=True, methods=["delete"], url_path="members/<member_ref:user_ref>", url_name="member-detail")
    def member(self, request: AuthenticatedRequest, slug: str, user_ref: str) -> Response:
        room = selectors.room_get_for_user(user=request.user, slug=slug)
        member = request.user if user_ref == "me" else user_get(actor=request.user, user_id=int(user_ref))
        services.room_remove_member(actor=request.user, room=room, user=member)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Change a member's role: owner, moderator or member (owners, administrators)",
        request=MemberRoleSerializer,
        responses={200: MembershipSerializer, 400: ERROR, 403: ERROR, 404: ERROR},
    )
    @member.mapping.patch
    def member_role(self, request: AuthenticatedRequest, slug: str, user_ref: str) -> Response:
        body = MemberRoleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        room = selectors.room_get_for_user(user=request.user, slug=slug)
        member = request.user if user_ref == "me" else user_get(actor=request.user, user_id=int(user_ref))
        membership = services.room_set_role(
            actor=request.user, room=room, user=member, role=body.validated_data["role"]
        )
        return Response(MembershipSerializer(membership).data)

    @extend_schema(
        summary="Mark a room read up to seq (default: its newest message)",
        request=MarkReadSerializer,
        responses={200: MembershipSerializer, 404: ERROR},
    )
    @action(detail=True, methods=["post"])
    def read(self, request: AuthenticatedRequest, slug: str) -> Response:
        body = MarkReadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        room = selectors.room_get_for_user(user=request.user, slug=slug)
        membership = services.room_mark_read(actor=request.user, room=room, seq=body.validated_data.get("seq"))
        return Response(MembershipSerializer(membership).data)

    @extend_schema(
        summary="Pinned messages of a room, the most recently pinned first (at most 100)",
        responses={200: MessageSerializer(many=True), 404: ERROR},
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def pins(self, request: AuthenticatedRequest, slug: str) -> Response:
        messages = selectors.pinned_messages(user=request.user, room_slug=slug)
        context = {"request": request, "room_slug": slug}
        return Response(MessageSerializer(messages, many=True, context=context).data)

    @extend_schema(
        summary="Your notification level and mute for a room (joining a public room)",
        request=MembershipUpdateSerializer,
        responses={200: RoomSerializer, 400: ERROR, 404: ERROR},
    )
    @action(detail=True, methods=["patch"])
    def membership(self, request: AuthenticatedRequest, slug: str) -> Response:
        body = MembershipUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        room = selectors.room_get_for_user(user=request.user, slug=slug)
        services.membership_update(actor=request.user, room=room, changes=body.validated_data)
        return Response(_room_out(request, slug))

    # Moderation (teams): bans and mutes; the post policy is a field of the room PATCH above.

    @sanction_docs(
        RoomSanction.Kind.BAN,
        "Bans",
        "Ban a user from a room; their sockets for it close with 4403 and they cannot rejoin",
    )
    @action(detail=True, methods=["get", "post"])
    def bans(self, request: AuthenticatedRequest, slug: str) -> Response:
        return self._sanctions(request, slug, RoomSanction.Kind.BAN)

    @extend_schema(summary="Lift a ban", responses={204: None, 403: ERROR, 404: ERROR})
    @action(detail=True, methods=["delete"], url_path="bans/<int:user_id>", url_name="ban-detail")
    def ban(self, request: AuthenticatedRequest, slug: str, user_id: int) -> Response:
        return self._lift_sanction(request, slug, user_id, RoomSanction.Kind.BAN)

    @sanction_docs(
        RoomSanction.Kind.MUTE,
        "Mutes",
        "Mute a user in a room until a time: they read, but sending and editing are refused",
    )
    @action(detail=True, methods=["get", "post"])
    def mutes(self, request: AuthenticatedRequest, slug: str) -> Response:
        return self._sanctions(request, slug, RoomSanction.Kind.MUTE)

    @extend_schema(summary="Lift a mute", responses={204: None, 403: ERROR, 404: ERROR})
    @action(detail=True, methods=["delete"], url_path="mutes/<int:user_id>", url_name="mute-detail")
    def mute(self, request: AuthenticatedRequest, slug: str, user_id: int) -> Response:
        return self._lift_sanction(request, slug, user_id, RoomSanction.Kind.MUTE)

    def _sanctions(self, request: AuthenticatedRequest, slug: str, kind: str) -> Response:
        """GET: the bans or mutes in force (moderators); POST: ban or mute someone (its body's rules)."""
        room = selectors.room_get_for_user(user=request.user, slug=slug)
        if request.method == "GET":
            moderation.check_moderator(actor=request.user, room=room)
            page = self.paginate_queryset(selectors.room_sanctions(room=room, kind=kind))
            return self.get_paginated_response(SanctionSerializer(page, many=True).data)
        body = SANCTION_BODIES[kind](data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        sanction = moderation.room_sanction(
            actor=request.user,
            room=room,
            kind=kind,
            user_id=data["user"],
            until=data.get("until"),
            reason=data["reason"],
        )
        return Response(SanctionSerializer(sanction).data, status=status.HTTP_201_CREATED)

    def _lift_sanction(self, request: AuthenticatedRequest, slug: str, user_id: int, kind: str) -> Response:
        room = selectors.room_get_for_user(user=request.user, slug=slug)
        moderation.room_sanction_lift(actor=request.user, room=room, kind=kind, user_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
