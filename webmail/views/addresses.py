"""Address autocomplete, and the user's address book: list, add, change, remove,
import and export vCard.

The verbs are webmail.mail.addresses; these views read the request, call
one of them and answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from webmail.mail import addresses

if TYPE_CHECKING:
    from webmail.models import Contact

MAX_VCF_BYTES = 5 * 1024 * 1024


def _user(request: HttpRequest) -> Any:
    return request.user


@require_GET
@login_required
def suggest_view(request: HttpRequest) -> JsonResponse:
    """Addresses that start with ?q= (or whose name has a word that does)."""
    typed = request.GET.get("q", "")[:100]
    found = addresses.suggest(_user(request), typed)
    response = JsonResponse({"results": [s.as_json() for s in found]})
    response["Cache-Control"] = "private, no-store"
    return response


def _book(
    request: HttpRequest,
    values: dict[str, str] | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        "contacts": addresses.contacts_of(_user(request)),
        "values": values or {"name": "", "email": ""},
        "error": error,
    }
    return render(request, "webmail/contacts.html", context, status=status)


def _bad(email: str) -> str:
    return _("“%(address)s” is not an email address.") % {"address": email}


@login_required
def contacts_view(request: HttpRequest) -> HttpResponse:
    """The address book; POST adds an entry."""
    if request.method != "POST":
        return _book(request)
    values = {k: request.POST.get(k, "") for k in ("name", "email")}
    try:
        contact = addresses.save_contact(
            _user(request), values["name"], values["email"]
        )
    except addresses.BadContact:
        return _book(request, values, _bad(values["email"]), status=400)
    messages.success(request, _("%(contact)s is added.") % {"contact": contact})
    return redirect("mail_contacts")


@login_required
def contact_view(request: HttpRequest, contact_id: int) -> HttpResponse:
    """One entry's form; POST saves it."""
    contact: Contact = addresses.contact_for(_user(request), contact_id)
    values = {"name": contact.name, "email": contact.email}
    error, status = "", 200
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in ("name", "email")}
        try:
            addresses.save_contact(
                _user(request), values["name"], values["email"], contact
            )
        except addresses.BadContact:
            error, status = _bad(values["email"]), 400
        else:
            messages.success(request, _("%(contact)s is saved.") % {"contact": contact})
            return redirect("mail_contacts")
    context = {"contact": contact, "values": values, "error": error}
    return render(request, "webmail/contact_edit.html", context, status=status)


@require_POST
@login_required
def contact_delete_view(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = addresses.contact_for(_user(request), contact_id)
    addresses.delete_contact(contact)
    messages.success(request, _("%(contact)s is removed.") % {"contact": contact})
    return redirect("mail_contacts")


@require_POST
@login_required
def contacts_import_view(request: HttpRequest) -> HttpResponse:
    """Add the entries of an uploaded .vcf file."""
    upload = request.FILES.get("file")
    if upload is None or upload.size is None or upload.size > MAX_VCF_BYTES:
        messages.error(request, _("Choose a vCard file (.vcf) of at most 5 MB."))
        return redirect("mail_contacts")
    done = addresses.import_vcards(_user(request), upload.read())
    messages.success(
        request,
        ngettext("%(count)d entry added.", "%(count)d entries added.", done.added)
        % {"count": done.added},
    )
    if done.known:
        messages.info(
            request,
            ngettext(
                "%(count)d entry was in the book already.",
                "%(count)d entries were in the book already.",
                done.known,
            )
            % {"count": done.known},
        )
    if done.refused:
        messages.error(
            request,
            _("Not added: %(addresses)s") % {"addresses": ", ".join(done.refused[:20])},
        )
    return redirect("mail_contacts")


@require_GET
@login_required
def contacts_export_view(request: HttpRequest) -> HttpResponse:
    """The whole book as a .vcf file."""
    data = addresses.export_vcards(addresses.contacts_of(_user(request)))
    response = HttpResponse(data, content_type="text/vcard; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="contacts.vcf"'
    return response
