"""Reports of messages: the moderators' queue, and resolving a report."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from core.openapi import ERROR
from core.viewsets import ApiViewSet
from messaging import selectors
from messaging.models import MessageReport
from messaging.serializers import ReportQuerySerializer, ReportResolveSerializer, ReportSerializer
from messaging.services import moderation
from users.authentication import AuthenticatedRequest, request_user


# /reports/: reports of the rooms the caller moderates (workspace admins and moderators: every room).
class ReportViewSet(ApiViewSet):
    lookup_url_kwarg = "report_id"
    lookup_value_converter = "int"
    serializer_class = ReportSerializer

    def get_queryset(self) -> QuerySet[MessageReport]:
        query = ReportQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        status = query.validated_data["status"]
        return selectors.report_list(user=request_user(self.request), status=None if status == "all" else status)

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        return ReportResolveSerializer if self.action == "resolve" else ReportSerializer

    @extend_schema(
        summary="Reports in the rooms you moderate, newest first (?status=open|resolved|dismissed|all)",
        parameters=[ReportQuerySerializer],
        responses={200: ReportSerializer(many=True), 400: ERROR},
    )
    def list(self, request: AuthenticatedRequest) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ReportSerializer(page, many=True).data)

    @extend_schema(
        summary="Close a report as resolved or dismissed (a moderator of its room)",
        request=ReportResolveSerializer,
        responses={200: ReportSerializer, 400: ERROR, 404: ERROR, 409: ERROR},
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request: AuthenticatedRequest, report_id: int) -> Response:
        body = ReportResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        report = moderation.report_resolve(actor=request.user, report_id=report_id, **body.validated_data)
        return Response(ReportSerializer(report).data)
