"""Account forms."""
from django.contrib.auth.forms import UserCreationForm

from .models import User


class SignupForm(UserCreationForm):
    """Sign-up with a username, an optional e-mail address and a password."""

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")
