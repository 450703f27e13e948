from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static import admin as _static_admin  # noqa: F401
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp import admin as _totp_admin  # noqa: F401
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import (
    AuditEvent,
    EncryptedTOTPDevice,
    MailAccount,
    MailDomain,
    RecoveryCodeDevice,
    User,
)

# The devices live in accounts' encrypted models; django-otp's plain-text
# ones stay empty (their apps remain installed for the data migration), so
# their admin pages, imported above to be registered first, are removed.
for _legacy in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_legacy):
        admin.site.unregister(_legacy)


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
        (_("Sign-in security"), {"fields": ["require_2fa"]}),
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


@admin.register(EncryptedTOTPDevice)
class EncryptedTOTPDeviceAdmin(admin.ModelAdmin[EncryptedTOTPDevice]):
    """Authenticator apps: who has one and its throttling; never the key."""

    list_display = ["user", "name", "confirmed", "created_at", "last_used_at"]
    list_filter = ["confirmed"]
    search_fields = ["user__username", "user__email"]
    raw_id_fields = ["user"]
    fields = [
        "user",
        "name",
        "confirmed",
        "created_at",
        "last_used_at",
        "throttling_failure_timestamp",
        "throttling_failure_count",
    ]
    readonly_fields = ["created_at", "last_used_at"]

    def has_add_permission(self, request: object) -> bool:
        # A device is made by enrolling in the app, where the user sees the key.
        return False


@admin.register(RecoveryCodeDevice)
class RecoveryCodeDeviceAdmin(admin.ModelAdmin[RecoveryCodeDevice]):
    """Recovery-code sets: who has them and their throttling; never the codes."""

    list_display = ["user", "name", "confirmed"]
    search_fields = ["user__username", "user__email"]
    raw_id_fields = ["user"]
    fields = [
        "user",
        "name",
        "confirmed",
        "throttling_failure_timestamp",
        "throttling_failure_count",
    ]

    def has_add_permission(self, request: object) -> bool:
        return False
