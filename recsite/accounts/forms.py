"""Account forms: sign up, and a log-in form that refuses imported placeholders."""
from django import forms
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.utils.translation import gettext_lazy as _

from .models import User


class SignupForm(UserCreationForm):
    """Sign-up with a username, an optional e-mail address and a password."""

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")

    def clean_email(self) -> str:
        """Return the address, refusing one that another account already uses (in any case):
        a password reset for it would go to both accounts."""
        email = User.objects.normalize_email(self.cleaned_data.get("email", "")).strip()
        if email and User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                _("Another account already uses this e-mail address. Log in, or reset its password."),
                code="email_taken",
            )
        return email


class LoginForm(AuthenticationForm):
    """Django's log-in form, which also refuses placeholder accounts."""

    def confirm_login_allowed(self, user: User) -> None:
        """Raise ValidationError for inactive and placeholder accounts."""
        super().confirm_login_allowed(user)
        if getattr(user, "is_placeholder", False):
            # Placeholders have unusable passwords; this guards against one that was
            # given a password by mistake.
            raise forms.ValidationError(
                _("This account was imported from a data set and cannot log in."),
                code="placeholder",
            )
