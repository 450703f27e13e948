"""A user's settings: when opening a message marks it read, whether new
messages are written in HTML or plain text, and whether archiving sorts by
year."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib.auth.signals import user_logged_in
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _

from accounts.models import Preference, User
from webmail.shared.readthrough import forget_if_reachable, read_through

CACHE_SECONDS = 300


@dataclass(frozen=True)
class MarkReadSetting:
    """How opening a message marks it read: at once, after delay s, or never."""

    mode: str
    delay: int


def for_user(user: User) -> Preference:
    """The user's settings; the defaults (unsaved) if never changed."""
    found = Preference.objects.filter(user=user).first()
    return found if found is not None else Preference(user=user)


def archive_by_year(user: User) -> bool:
    """Whether archiving sends messages to a folder for their year."""
    return for_user(user).archive_by_year


def compose_format(user: User) -> str:
    """ "html" or "text": what the user's new messages start in."""
    return for_user(user).compose_format


def mark_read(user: User) -> MarkReadSetting:
    """The user's mark-read setting, asked on every open of a message.

    Kept in the cache, and dropped when the user's preferences are saved or
    deleted, and at every sign-in (see connect_signals).
    """

    def read() -> tuple[str, int]:
        preference = for_user(user)
        return (preference.mark_read, preference.mark_read_delay)

    return MarkReadSetting(*read_through(_mark_read_key(user.pk), read, CACHE_SECONDS))


def _mark_read_key(user_id: int) -> str:
    return f"mark-read:{user_id}"


def _forget(sender: type, instance: Preference, **_: Any) -> None:
    cache.delete(_mark_read_key(instance.user_id))


def _forget_at_sign_in(sender: type, user: User, **_: Any) -> None:
    # A new session asks afresh (user ids of a test database come back).
    forget_if_reachable(_mark_read_key(user.pk))


def connect_signals() -> None:
    """Drop the cached mark-read setting when the preferences change."""
    user_logged_in.connect(_forget_at_sign_in)
    post_save.connect(_forget, sender=Preference)
    post_delete.connect(_forget, sender=Preference)


class PreferenceForm(forms.ModelForm[Preference]):
    class Meta:
        model = Preference
        fields = ["mark_read", "mark_read_delay", "compose_format", "archive_by_year"]
        widgets = {
            "mark_read": forms.RadioSelect,
            "compose_format": forms.RadioSelect,
        }
        labels = {
            "mark_read": _("Opening a message marks it read"),
            "compose_format": _("Write new messages in"),
        }
        help_texts = {
            "mark_read_delay": _(
                "Used with “After some seconds”: the message is marked read "
                "if it is still open then."
            ),
            "compose_format": _(
                "Each message can still be switched while you write it."
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A form that leaves it out keeps the saved choice.
        self.fields["compose_format"].required = False

    def clean_compose_format(self) -> str:
        value = self.cleaned_data.get("compose_format")
        return str(value or self.instance.compose_format)
