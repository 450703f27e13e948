from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Signal receivers: the audit log and the session list.
        from accounts import audit, preferences, twofactor, usersessions  # noqa: F401

        audit.connect_signals()
        preferences.connect_signals()
        twofactor.connect_signals()
