"""Forms for sign-in, two-factor set-up, mail accounts and user admin."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import password_validation
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from accounts import passwords
from accounts.mailaccounts import ServerSettings
from accounts.models import AuditKind, MailAccount, User


def _password(label: StrOrPromise, autocomplete: str, **kwargs: Any) -> forms.CharField:
    """A password field that refuses, before any hashing, what is too long."""
    return forms.CharField(
        label=label,
        strip=False,
        max_length=passwords.MAX_LENGTH,
        error_messages={"max_length": passwords.TOO_LONG},
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
        **kwargs,
    )


class SignInForm(forms.Form):
    username = forms.CharField(
        label=_("User name or address"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = _password(_("Password"), "current-password")


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from your app, or a recovery code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
            }
        ),
    )


class ConfirmPasswordForm(forms.Form):
    """Asks for the current password before a sensitive change."""

    password = _password(_("Your password"), "current-password")

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("That is not your password."))
        return password


def _port(label: StrOrPromise) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        required=False,
        min_value=1,
        max_value=65535,
        help_text=_("Leave empty to try the usual ports."),
    )


def _secret(label: StrOrPromise, required: bool) -> forms.CharField:
    # What was typed stays in the form it comes back in (after "Test
    # connection", or an error), so that "Test and save" needs no retyping;
    # it is the user's own answer, over the same connection.
    return forms.CharField(
        label=label,
        required=required,
        strip=False,
        widget=forms.PasswordInput(
            render_value=True, attrs={"autocomplete": "new-password"}
        ),
    )


class MailAccountForm(forms.Form):
    """The four things a provider tells a user, for IMAP and for SMTP."""

    email = forms.EmailField(label=_("Email address"))
    imap_host = forms.CharField(
        label=_("Incoming (IMAP) server"),
        required=False,
        help_text=_("Leave empty if your administrator has set up your mail domain."),
    )
    imap_port = _port(_("IMAP port"))
    imap_username = forms.CharField(
        label=_("IMAP user name"),
        required=False,
        help_text=_("Leave empty to use the email address."),
    )
    imap_password = _secret(_("IMAP password"), required=True)
    smtp_host = forms.CharField(label=_("Outgoing (SMTP) server"), required=False)
    smtp_port = _port(_("SMTP port"))
    smtp_username = forms.CharField(
        label=_("SMTP user name"),
        required=False,
        help_text=_("Leave empty to use the IMAP user name."),
    )
    smtp_password = _secret(_("SMTP password"), required=False)

    def __init__(
        self,
        *args: Any,
        account: MailAccount | None = None,
        has_preset: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.account = account
        self.has_preset = has_preset
        if account is not None:
            # The stored password is kept unless a new one is typed.
            self.fields["imap_password"].required = False
            self.fields["imap_password"].help_text = _("Leave empty to keep it.")
            self.fields["smtp_password"].help_text = _("Leave empty to keep it.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.has_preset and not data.get("imap_host"):
            self.add_error("imap_host", _("Enter the incoming mail server."))
        return data

    def check_not_twice(self, user: User, host: str, username: str) -> bool:
        """Refuse a mailbox the user has already added; return whether it is new."""
        same = MailAccount.objects.filter(
            user=user, imap_host__iexact=host, imap_username__iexact=username
        )
        if self.account is not None:
            same = same.exclude(id=self.account.id)
        if not same.exists():
            return True
        self.add_error(
            "email",
            _("You have added this mailbox already (%(email)s).")
            % {"email": same.first().email},  # type: ignore[union-attr]
        )
        return False

    def server_settings(self) -> tuple[ServerSettings, ServerSettings | None]:
        """Return what was typed, with stored passwords for empty fields."""
        data = self.cleaned_data
        account = self.account
        imap_username = data["imap_username"].strip() or data["email"]
        imap_password = data["imap_password"] or (
            account.imap_password if account else ""
        )
        imap_settings = ServerSettings(
            data["imap_host"].strip(), data["imap_port"], imap_username, imap_password
        )
        if not data["smtp_host"].strip():
            return imap_settings, None
        smtp_password = data["smtp_password"]
        if not smtp_password:
            smtp_password = account.smtp_password if account else imap_password
        smtp_settings = ServerSettings(
            data["smtp_host"].strip(),
            data["smtp_port"],
            data["smtp_username"].strip() or imap_username,
            smtp_password,
        )
        return imap_settings, smtp_settings

    @staticmethod
    def initial_for(account: MailAccount) -> dict[str, Any]:
        return {
            "email": account.email,
            "imap_host": account.imap_host,
            "imap_port": account.imap_port,
            "imap_username": account.imap_username,
            "smtp_host": account.smtp_host,
            "smtp_port": account.smtp_port if account.smtp_host else None,
            "smtp_username": account.smtp_username,
        }


class UserForm(forms.ModelForm[User]):
    """An admin's view of a user (without the password)."""

    class Meta:
        model = User
        fields = [
            "username",
            "email",
            "first_name",
            "last_name",
            "is_active",
            "is_staff",
            "require_2fa",
        ]


class NewUserForm(UserForm):
    password = _password(
        _("Password"),
        "new-password",
        required=False,
        help_text=_("Leave empty for a user who signs in with the mail server."),
    )

    def clean_password(self) -> str:
        password: str = self.cleaned_data.get("password", "")
        if password:
            candidate = User(
                username=self.cleaned_data.get("username", ""),
                email=self.cleaned_data.get("email", ""),
            )
            password_validation.validate_password(password, candidate)
        return password


class SetPasswordForm(forms.Form):
    password = _password(_("New password"), "new-password")

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        password_validation.validate_password(password, self.user)
        return password


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    """Django's, with each password refused before hashing if too long."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            assert isinstance(field, forms.CharField)
            field.max_length = passwords.MAX_LENGTH
            field.validators.append(MaxLengthValidator(passwords.MAX_LENGTH))
            field.error_messages["max_length"] = passwords.TOO_LONG
            field.widget.attrs["maxlength"] = str(passwords.MAX_LENGTH)


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "Columns: username, email, first_name, last_name, password, "
            "is_staff, require_2fa. Only username is required."
        ),
    )
    dry_run = forms.BooleanField(
        label=_("Dry run (check only, change nothing)"), required=False, initial=True
    )


class AuditFilterForm(forms.Form):
    kind = forms.ChoiceField(required=False, label=_("Kind"))
    username = forms.CharField(required=False, label=_("User"))
    since = forms.DateField(
        required=False, label=_("Since"), widget=forms.DateInput({"type": "date"})
    )
    until = forms.DateField(
        required=False, label=_("Until"), widget=forms.DateInput({"type": "date"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kind = self.fields["kind"]
        assert isinstance(kind, forms.ChoiceField)
        kind.choices = [("", _("Any")), *AuditKind.choices]
