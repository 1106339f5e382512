"""Who is connected, read from the presence store shared by every process."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from realtime import presence
from users.authentication import AuthenticatedRequest
from users.selectors import users_by_ids, visible_user_ids

ERROR = OpenApiResponse(description='{"detail": "...", "code": "..."}')


class ConnectedUsersView(APIView):
    @extend_schema(
        summary="Users with at least one open socket, on any server process",
        responses={
            200: inline_serializer(
                "ConnectedUser",
                many=True,
                fields={
                    "id": serializers.IntegerField(),
                    "username": serializers.CharField(),
                    "display_name": serializers.CharField(),
                    "connections": serializers.IntegerField(),
                },
            ),
            401: ERROR,
        },
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        counts = presence.connections_per_user()
        users = users_by_ids(actor=request.user, ids=counts)
        return Response(
            [
                {"id": u.pk, "username": u.username, "display_name": u.display_name, "connections": counts[u.pk]}
                for u in users
            ]
        )


class ConnectedClientsView(APIView):
    """back_chat's streaming route: every socket as ``<user_id>@<ip>:<port>``."""

    @extend_schema(
        summary="Every open socket as <user_id>@<ip>:<port> (back_chat's client ids)",
        responses={
            200: inline_serializer(
                "ConnectedClients", fields={"clients": serializers.ListField(child=serializers.CharField())}
            ),
            401: ERROR,
        },
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        clients = presence.connected_clients()
        # A guest hears only of the people who share a room with them (users.selectors.visible_users).
        visible = visible_user_ids(actor=request.user, ids={presence.user_of(client) for client in clients})
        return Response({"clients": [client for client in clients if presence.user_of(client) in visible]})
