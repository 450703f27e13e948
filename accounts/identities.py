"""A mail account's identities: the From, Reply-To and signature the user writes with.

An account has at most one default identity; the first one made is the
default, and when the default is removed the oldest other one takes its
place. Callers pass an account they got through accounts.access.
"""

from __future__ import annotations

from django import forms
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from accounts.models import Identity, MailAccount
from webmail.mime.sanitize import sanitize_outgoing

MAX_SIGNATURE = 10_000


class IdentityForm(forms.ModelForm[Identity]):
    """Name, address, Reply-To, and a signature in text and (optionally) HTML."""

    class Meta:
        model = Identity
        fields = [
            "name",
            "email",
            "reply_to",
            "signature",
            "signature_html",
            "is_default",
        ]
        labels = {
            "name": _("Name shown to recipients"),
            "email": _("From address"),
            "reply_to": _("Replies go to (optional)"),
            "signature": _("Signature"),
            "signature_html": _("Signature in HTML (optional)"),
            "is_default": _("Use for new messages"),
        }
        widgets = {
            "signature": forms.Textarea(attrs={"rows": 5}),
            "signature_html": forms.Textarea(attrs={"rows": 5}),
        }
        help_texts = {
            "signature_html": _(
                "Used when writing in HTML. Links, bold, italic and lists are "
                "kept; scripts and images from the web are removed. Without it, "
                "the text signature is used."
            ),
        }

    def clean_signature(self) -> str:
        text = str(self.cleaned_data.get("signature") or "").replace("\r\n", "\n")
        if len(text) > MAX_SIGNATURE:
            raise forms.ValidationError(
                _("A signature may have at most %(count)d characters."),
                params={"count": MAX_SIGNATURE},
            )
        return text.strip("\n")

    def clean_signature_html(self) -> str:
        markup = str(self.cleaned_data.get("signature_html") or "")
        if len(markup) > MAX_SIGNATURE:
            raise forms.ValidationError(
                _("A signature may have at most %(count)d characters."),
                params={"count": MAX_SIGNATURE},
            )
        return sanitize_outgoing(markup).strip() if markup.strip() else ""


def identity_for(account: MailAccount, identity_id: int) -> Identity:
    """The account's identity with this id, or 404."""
    identity = Identity.objects.filter(account=account, id=identity_id).first()
    if identity is None:
        raise Http404("No such identity.")
    return identity


@transaction.atomic
def save_identity(account: MailAccount, form: IdentityForm) -> Identity:
    """Save a valid form's identity; keep exactly one default."""
    identity = form.save(commit=False)
    identity.account = account
    first = (
        not Identity.objects.filter(account=account).exclude(id=identity.id).exists()
    )
    identity.is_default = identity.is_default or first
    identity.save()
    if identity.is_default:
        _only_default(identity)
    return identity


def _only_default(identity: Identity) -> None:
    Identity.objects.filter(account_id=identity.account_id).exclude(
        id=identity.id
    ).update(is_default=False)


@transaction.atomic
def make_default(identity: Identity) -> None:
    Identity.objects.filter(id=identity.id).update(is_default=True)
    _only_default(identity)


@transaction.atomic
def delete_identity(identity: Identity) -> None:
    account_id = identity.account_id
    identity.delete()
    others = Identity.objects.filter(account_id=account_id).order_by("id")
    if not others.filter(is_default=True).exists():
        successor = others.first()
        if successor is not None:
            make_default(successor)
