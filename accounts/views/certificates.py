"""The trusted mail-server certificates: trust one, list, remove. Staff only."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import certificates, hosts, mailservers
from accounts.models import TrustedCertificate
from accounts.views.manage import staff_required


@staff_required
def certificate_list(request: HttpRequest) -> HttpResponse:
    rows = TrustedCertificate.objects.select_related("trusted_by")
    return render(request, "accounts/manage/certificates.html", {"rows": rows})


@require_POST
@staff_required
def certificate_trust(request: HttpRequest) -> HttpResponse:
    """Trust the certificate the server presents now, if it is the one shown.

    The certificate is read again rather than taken from the form: what is
    stored is what the server presents, and only if its fingerprint is the
    one the operator was shown.
    """
    shown = request.POST.get("sha256", "")
    try:
        port = int(request.POST.get("port", ""))
    except ValueError:
        port = 0
    info = None
    if 0 < port < 65536:
        info = mailservers.read_certificate(
            hosts.normalise_host(request.POST.get("host", "")),
            port,
            request.POST.get("security", ""),
            "smtp" if request.POST.get("protocol") == "smtp" else "imap",
        )
    if info is None:
        messages.error(request, _("The server's certificate could not be read."))
    elif info.sha256 != shown:
        messages.error(
            request,
            _(
                "The server now presents another certificate than the one shown. "
                "Test the connection again and check the new one."
            ),
        )
    else:
        user: Any = request.user
        certificates.trust(info, user, request)
        messages.success(
            request,
            _("The certificate is trusted for %(host)s; test the connection again.")
            % {"host": info.host},
        )
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, {request.get_host()}, True):
        return redirect(back)
    return redirect("manage:certificates")


@require_POST
@staff_required
def certificate_remove(request: HttpRequest, certificate_id: int) -> HttpResponse:
    trusted = get_object_or_404(TrustedCertificate, pk=certificate_id)
    user: Any = request.user
    certificates.distrust(trusted, user, request)
    messages.success(
        request,
        _("The certificate is no longer trusted for %(host)s.")
        % {"host": trusted.host},
    )
    return redirect("manage:certificates")
