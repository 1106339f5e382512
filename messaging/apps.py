from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_search_index(sender: AppConfig, *, using: str = "default", **kwargs: Any) -> None:
    """After every migrate: repair the message search index (a later migration that made SQLite rebuild
    the message table dropped its triggers) or rebuild it in a changed CHAT_SEARCH_LANGUAGE; a database
    whose search migration is not applied is left alone."""
    from django.conf import settings
    from django.db import connections

    from messaging.search_index import search_index_ensure

    search_index_ensure(connection=connections[using], language=settings.CHAT_SEARCH_LANGUAGE, repair_only=True)


def _forget_reactions(sender: type, *, user: Any, **kwargs: Any) -> None:
    """``users.signals.user_deleting``: the reaction totals must not keep counting a deleted user."""
    from messaging.services.reactions import reactions_forget_user

    reactions_forget_user(user=user)


class MessagingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        post_migrate.connect(_ensure_search_index, sender=self, dispatch_uid="messaging.search_index")
        from users.signals import user_deleting

        user_deleting.connect(_forget_reactions, dispatch_uid="messaging.forget_reactions")
