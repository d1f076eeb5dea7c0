"""Receivers of Django's authentication signals."""
from django.contrib import messages
from django.http import HttpRequest
from django.utils.translation import gettext as _


def say_logged_out(sender, request: HttpRequest | None, user, **kwargs) -> None:
    """Tell the person on the next page that they are logged out (the message outlives the
    session, which logout flushes, in the messages cookie)."""
    if request is not None and hasattr(request, "_messages"):
        messages.info(request, _("You have logged out."))
