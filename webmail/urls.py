from django.contrib import admin
from django.urls import include, path, register_converter

from accounts.views import signin as accounts_views
from webmail.mail import ids
from webmail.views import errors, events, mailbox

# <id:...> and <uid:...> in every URLconf (accounts' too, included below):
# a number no row can have is a 404, never a query.
register_converter(ids.IdConverter, "id")
register_converter(ids.UidConverter, "uid")

# A request that cannot be read (an impossible id, a form over Django's
# limits) says why.
handler400 = errors.bad_request

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
