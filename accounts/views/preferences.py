"""The user's settings page (reading behaviour)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts import preferences
from accounts.models import User


@login_required
def settings_view(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    assert isinstance(user, User)
    form = preferences.PreferenceForm(
        request.POST or None, instance=preferences.for_user(user)
    )
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your settings are saved."))
        return redirect("preferences")
    return render(request, "accounts/preferences.html", {"form": form})
