"""URLs of the signed-in user's own pages: sign-in, security, mail accounts.

<id:...> takes row ids in range only (webmail/urls.py registers it).
"""

from django.urls import path

from accounts.views import identities, mail, preferences, security, signin

urlpatterns = [
    path("login/", signin.login, name="login"),
    path("login/code/", signin.login_code, name="login_code"),
    path("logout/", signin.logout_view, name="logout"),
    path("security/", security.overview, name="security"),
    path("settings/", preferences.settings_view, name="preferences"),
    path("security/2fa/", security.twofactor_setup, name="twofactor_setup"),
    path("security/2fa/disable/", security.twofactor_disable, name="twofactor_disable"),
    path("security/2fa/codes/", security.recovery_codes, name="recovery_codes"),
    path("security/password/", security.password_change, name="password_change"),
    path(
        "security/sessions/end-all/",
        security.sessions_end_all,
        name="sessions_end_all",
    ),
    path(
        "security/sessions/<id:session_id>/end/",
        security.session_end,
        name="session_end",
    ),
    path("mail/", mail.account_list, name="mail_accounts"),
    path("mail/add/", mail.account_add, name="mail_account_add"),
    path("mail/<id:account_id>/", mail.account_edit, name="mail_account_edit"),
    path("mail/<id:account_id>/test/", mail.account_test, name="mail_account_test"),
    path(
        "mail/<id:account_id>/delete/",
        mail.account_delete,
        name="mail_account_delete",
    ),
    path(
        "mail/<id:account_id>/identities/",
        identities.identity_list,
        name="mail_identities",
    ),
    path(
        "mail/<id:account_id>/identities/add/",
        identities.identity_add,
        name="mail_identity_add",
    ),
    path(
        "mail/<id:account_id>/identities/<id:identity_id>/",
        identities.identity_edit,
        name="mail_identity_edit",
    ),
    path(
        "mail/<id:account_id>/identities/<id:identity_id>/default/",
        identities.identity_default,
        name="mail_identity_default",
    ),
    path(
        "mail/<id:account_id>/identities/<id:identity_id>/delete/",
        identities.identity_delete,
        name="mail_identity_delete",
    ),
]
