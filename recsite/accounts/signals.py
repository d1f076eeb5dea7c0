"""Signals of the accounts app, and receivers of Django's authentication signals."""
from django.contrib import messages
from django.dispatch import Signal
from django.http import HttpRequest
from django.utils.translation import gettext as _

# Sent after a person's new password was saved (a change, a reset, the admin, the
# `changepassword` command), not for a new account and not when Django only re-hashes the
# same password with stronger settings. Arguments: `user`.
password_changed = Signal()


def say_logged_out(sender, request: HttpRequest | None, user, **kwargs) -> None:
    """Tell the person on the next page that they are logged out (the message outlives the
    session, which logout flushes, in the messages cookie)."""
    if request is not None and hasattr(request, "_messages"):
        messages.info(request, _("You have logged out."))
