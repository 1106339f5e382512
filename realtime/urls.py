"""HTTP routes of the realtime app (mounted at the site root by chatsite.urls)."""

from django.urls import path

from realtime import asyncapi, views

urlpatterns = [
    path("api/v1/connected-users/", views.ConnectedUsersView.as_view(), name="connected-users"),
    path("connected_users", views.ConnectedClientsView.as_view(), name="connected-clients"),
    path("api/asyncapi.yaml", asyncapi.asyncapi_document, name="asyncapi"),
]
