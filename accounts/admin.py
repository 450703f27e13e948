from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import MailAccount, User

admin.site.register(User, UserAdmin)


@admin.register(MailAccount)
class MailAccountAdmin(admin.ModelAdmin[MailAccount]):
    list_display = ["email", "user", "imap_host", "imap_port", "imap_security"]
    search_fields = ["email", "user__username", "imap_host"]
    exclude = ["imap_password_encrypted", "smtp_password_encrypted"]
