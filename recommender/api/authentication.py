"""`Authorization: Token <key>` authentication with per-device tokens."""
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from .models import DeviceToken
from .tokens import token_authenticate


class DeviceTokenAuthentication(authentication.BaseAuthentication):
    """Authenticate a request by the device token in its Authorization header."""

    keyword = "Token"

    def authenticate(self, request: Request) -> tuple | None:
        """Return (user, token), None when no token was sent, or raise AuthenticationFailed."""
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Send the header as “Token <key>”."))
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        token: DeviceToken | None = token_authenticate(key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
