from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import AuditEvent, MailAccount, MailDomain, User


@admin.register(User)
class WebmailUserAdmin(UserAdmin[User]):
    list_display = [
        "username",
        "email",
        "is_active",
        "is_staff",
        "require_2fa",
        "last_login",
    ]
    list_filter = ["is_active", "is_staff", "require_2fa"]
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        ("Sign-in security", {"fields": ["require_2fa"]}),
    )


@admin.register(MailAccount)
class MailAccountAdmin(admin.ModelAdmin[MailAccount]):
    list_display = ["email", "user", "imap_host", "imap_port", "imap_security"]
    search_fields = ["email", "user__username", "imap_host"]
    exclude = ["imap_password_encrypted", "smtp_password_encrypted"]


@admin.register(MailDomain)
class MailDomainAdmin(admin.ModelAdmin[MailDomain]):
    list_display = [
        "domain",
        "imap_host",
        "imap_port",
        "smtp_host",
        "sign_in_with_mail",
    ]
    search_fields = ["domain", "imap_host"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    list_display = ["created_at", "kind", "username", "actor", "ip", "detail"]
    list_filter = ["kind", "created_at"]
    search_fields = ["username", "actor", "ip", "detail"]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False
