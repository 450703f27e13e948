"""URLs of the operator pages (staff only), under the "manage" namespace.

<id:...> takes row ids in range only (webmail/urls.py registers it).
"""

from django.urls import path

from accounts.views import certificates, manage

app_name = "manage"

urlpatterns = [
    path("", manage.users, name="users"),
    path("users/new/", manage.user_new, name="user_new"),
    path("users/<id:user_id>/", manage.user_detail, name="user"),
    path("users/<id:user_id>/password/", manage.user_password, name="user_password"),
    path("users/<id:user_id>/2fa/reset/", manage.user_reset_2fa, name="user_2fa"),
    path(
        "users/<id:user_id>/sessions/end/",
        manage.user_sessions_end,
        name="user_sessions",
    ),
    path("users/<id:user_id>/unlock/", manage.user_unlock, name="user_unlock"),
    path("users/<id:user_id>/delete/", manage.user_delete, name="user_delete"),
    path("import/", manage.user_import, name="import"),
    path("audit/", manage.audit_log, name="audit"),
    path("audit/export.csv", manage.audit_export, name="audit_export"),
    path("certificates/", certificates.certificate_list, name="certificates"),
    path(
        "certificates/trust/", certificates.certificate_trust, name="certificate_trust"
    ),
    path(
        "certificates/<id:certificate_id>/remove/",
        certificates.certificate_remove,
        name="certificate_remove",
    ),
]
