from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        # Outgoing webhooks hear of every stored message through messaging's signal (messaging does not
        # import this app: integrations posts replies through messaging's services).
        from integrations import dispatch
        from messaging.signals import message_stored

        message_stored.connect(dispatch.on_message_stored, dispatch_uid="integrations.dispatch")
