from django.contrib import admin
from django.urls import include, path

from accounts.views import signin as accounts_views
from webmail import views

urlpatterns = [
    path("", views.home, name="home"),
    # Accounts: sign-in, 2FA, sessions, mail accounts; the operator pages.
    path("accounts/", include("accounts.urls")),
    path("manage/", include("accounts.manage_urls")),
    # Every admin sign-in goes through the accounts sign-in (2FA, lockout).
    path("admin/login/", accounts_views.admin_login, name="admin_login"),
    path("admin/", admin.site.urls),
]
