from django.apps import AppConfig


class CompatConfig(AppConfig):
    """back_chat's REST paths and sockets over the new API's services (see the package docstring)."""

    name = "compat"
    verbose_name = "back_chat compatibility"
