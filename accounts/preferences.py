"""A user's reading settings: when opening a message marks it read."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms

from accounts.models import Preference, User


@dataclass(frozen=True)
class MarkReadSetting:
    """How opening a message marks it read: at once, after delay s, or never."""

    mode: str
    delay: int


def for_user(user: User) -> Preference:
    """The user's settings; the defaults (unsaved) if never changed."""
    found = Preference.objects.filter(user=user).first()
    return found if found is not None else Preference(user=user)


def mark_read(user: User) -> MarkReadSetting:
    preference = for_user(user)
    return MarkReadSetting(preference.mark_read, preference.mark_read_delay)


class PreferenceForm(forms.ModelForm[Preference]):
    class Meta:
        model = Preference
        fields = ["mark_read", "mark_read_delay"]
        widgets = {"mark_read": forms.RadioSelect}
