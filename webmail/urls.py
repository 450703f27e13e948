from django.contrib import admin
from django.urls import include, path

from accounts.views import signin as accounts_views
from webmail.views import events, mailbox

urlpatterns = [
    path("", mailbox.home, name="home"),
    # Reading mail: folders, messages, message bodies, the image proxy.
    path("mail/", include("webmail.views.urls")),
    # Server-Sent Events: changes to the user's mail, as they happen.
    path("events/", events.stream, name="events"),
    # The language switcher (set_language).
    path("i18n/", include("django.conf.urls.i18n")),
    # Accounts: sign-in, 2FA, sessions, mail accounts; the operator pages.
    path("accounts/", include("accounts.urls")),
    path("manage/", include("accounts.manage_urls")),
    # Every admin sign-in goes through the accounts sign-in (2FA, lockout).
    path("admin/login/", accounts_views.admin_login, name="admin_login"),
    path("admin/", admin.site.urls),
]
