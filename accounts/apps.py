from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Signal receivers: the audit log and the session list.
        # Imported once the app registry is ready: they import models.
        from accounts import (  # noqa: F401, PLC0415
            audit,
            preferences,
            twofactor,
            usersessions,
        )

        audit.connect_signals()
        preferences.connect_signals()
        twofactor.connect_signals()
