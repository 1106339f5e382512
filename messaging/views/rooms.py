"""Rooms, their members, direct-message rooms and read state."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from messaging import selectors, services
from messaging.models import Membership, Room
from messaging.serializers import (
    AddMemberSerializer,
    DirectRoomSerializer,
    MarkReadSerializer,
    MembershipSerializer,
    RoomCreateSerializer,
    RoomSerializer,
)
from users.selectors import user_get

ERROR = OpenApiResponse(description='{"detail": "...", "code": "..."}')


def _room_out(request: Request, slug: str) -> dict:
    room = selectors.room_list_for_user(user=request.user).get(slug=slug)
    return RoomSerializer(room).data


class RoomListView(GenericAPIView):
    serializer_class = RoomSerializer

    def get_queryset(self) -> QuerySet[Room]:
        """The caller's rooms (the browsable API builds its filter form from this too)."""
        return selectors.room_list_for_user(user=self.request.user)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        """The browsable API's form for POST shows what POST takes."""
        return RoomCreateSerializer if self.request.method == "POST" else RoomSerializer

    @extend_schema(summary="Rooms you may read, with unread counts", responses={200: RoomSerializer(many=True)})
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(RoomSerializer(page, many=True).data)

    @extend_schema(
        summary="Create a public or private room (you become its owner)",
        request=RoomCreateSerializer,
        responses={201: RoomSerializer, 400: ERROR},
    )
    def post(self, request: Request) -> Response:
        body = RoomCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        room = services.room_create(actor=request.user, **body.validated_data)
        return Response(_room_out(request, room.slug), status=status.HTTP_201_CREATED)


class RoomDetailView(APIView):
    @extend_schema(summary="One room", responses={200: RoomSerializer, 404: ERROR})
    def get(self, request: Request, slug: str) -> Response:
        selectors.room_get_for_user(user=request.user, slug=slug)
        return Response(_room_out(request, slug))


class RoomMembersView(GenericAPIView):
    serializer_class = MembershipSerializer

    def get_queryset(self) -> QuerySet[Membership]:
        """Members of the room in the URL, which the caller must be able to read (else RoomNotFound)."""
        room = selectors.room_get_for_user(user=self.request.user, slug=self.kwargs["slug"])
        return selectors.room_members(user=self.request.user, room=room)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        """The browsable API's form for POST shows what POST takes."""
        return AddMemberSerializer if self.request.method == "POST" else MembershipSerializer

    @extend_schema(summary="Members of a room", responses={200: MembershipSerializer(many=True), 404: ERROR})
    def get(self, request: Request, slug: str) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(MembershipSerializer(page, many=True).data)

    @extend_schema(
        summary="Join a public room (no body), or add a user (room managers)",
        request=AddMemberSerializer,
        responses={201: MembershipSerializer, 403: ERROR, 404: ERROR},
    )
    def post(self, request: Request, slug: str) -> Response:
        body = AddMemberSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        room = selectors.room_get_for_user(user=request.user, slug=slug)
        if "user" in body.validated_data and body.validated_data["user"] != request.user.pk:
            other = user_get(actor=request.user, user_id=body.validated_data["user"])
            membership = services.room_add_member(actor=request.user, room=room, user=other)
        else:
            membership = services.room_join(actor=request.user, room=room)
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)


class RoomMemberDetailView(APIView):
    @extend_schema(
        summary="Leave a room (your id or 'me'), or remove a member (room managers)",
        responses={204: None, 403: ERROR, 404: ERROR},
    )
    def delete(self, request: Request, slug: str, user_ref: str) -> Response:
        room = selectors.room_get_for_user(user=request.user, slug=slug)
        member = request.user if user_ref == "me" else user_get(actor=request.user, user_id=int(user_ref))
        services.room_remove_member(actor=request.user, room=room, user=member)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RoomReadView(APIView):
    @extend_schema(
        summary="Mark a room read up to seq (default: its newest message)",
        request=MarkReadSerializer,
        responses={200: MembershipSerializer, 404: ERROR},
    )
    def post(self, request: Request, slug: str) -> Response:
        body = MarkReadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        room = selectors.room_get_for_user(user=request.user, slug=slug)
        membership = services.room_mark_read(actor=request.user, room=room, seq=body.validated_data.get("seq"))
        return Response(MembershipSerializer(membership).data)


class DirectRoomView(APIView):
    @extend_schema(
        summary="The direct-message room with a user (created on first use)",
        request=DirectRoomSerializer,
        responses={201: RoomSerializer, 200: RoomSerializer, 400: ERROR, 404: ERROR},
    )
    def post(self, request: Request) -> Response:
        body = DirectRoomSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        other = user_get(actor=request.user, user_id=body.validated_data["user"])
        room, created = services.direct_room_get_or_create(actor=request.user, other=other)
        return Response(
            _room_out(request, room.slug), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
