"""Issue, look up and revoke per-device API tokens."""
import hashlib
import secrets
from datetime import timedelta

from django.utils import timezone

from recsite.accounts.models import User

from .models import DeviceToken

# Writing last_used_at on every request would turn each read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=10)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def token_create(*, user: User, device: str = "") -> tuple[DeviceToken, str]:
    """Issue a new token for one device; return it and its key (shown once, never stored)."""
    key = secrets.token_urlsafe(32)
    token = DeviceToken.objects.create(user=user, digest=_digest(key), device=device)
    return token, key


def token_authenticate(key: str) -> DeviceToken | None:
    """Return the token with this key and its active owner, or None."""
    token = (
        DeviceToken.objects.select_related("user").filter(digest=_digest(key), user__is_active=True).first()
    )
    if token is not None:
        now = timezone.now()
        if token.last_used_at is None or token.last_used_at < now - LAST_USED_RESOLUTION:
            DeviceToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def token_revoke(*, token: DeviceToken) -> None:
    """Revoke one token: that device must sign in again."""
    DeviceToken.objects.filter(pk=token.pk).delete()


def token_revoke_all(*, user: User) -> int:
    """Revoke every token of this person (every device must sign in again); return how many."""
    count, _ = DeviceToken.objects.filter(user=user).delete()
    return count


def revoke_on_password_change(sender, user: User, **kwargs) -> None:
    """Receiver of `password_changed`: a new password signs every device out, as it does
    every other browser session (Django ties sessions to the password hash)."""
    token_revoke_all(user=user)
