from django.apps import AppConfig


class WebmailConfig(AppConfig):
    name = "webmail"
    default_auto_field = "django.db.models.BigAutoField"
