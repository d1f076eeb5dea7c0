"""The site's user model, and the addresses and devices a person has signed in from."""
from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from .signals import password_changed


class User(AbstractUser):
    """A person with an account, or a placeholder for someone imported from a data set.

    Placeholders carry the imported history but have an unusable password, so nobody can
    log in as them.
    """

    is_placeholder = models.BooleanField(
        _("placeholder"),
        default=False,
        help_text=_("Imported from a data set; cannot log in."),
    )

    def save(self, *args, **kwargs) -> None:
        """Save, then send `password_changed` if an existing account got a new password.

        Django keeps the new raw password in `_password` from `set_password()` until the
        save, and clears it for a mere re-hash on login (a hasher upgrade is no change).
        """
        changed = self._password is not None and not self._state.adding
        super().save(*args, **kwargs)
        if changed:
            password_changed.send(sender=type(self), user=self)


class KnownClient(models.Model):
    """An address or a browser/device from which a person signed in with the right password.

    Login lockout does not slow these down when someone else guesses the person's password
    (recsite/accounts/lockout.py). A device is a random key in a cookie, stored here only as
    its SHA-256 digest.
    """

    class Kind(models.TextChoices):
        ADDRESS = "address", _("address")
        DEVICE = "device", _("browser or device")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="known_clients", verbose_name=_("person"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    # An IP address (at most 45 characters) or a key's digest (64).
    value = models.CharField(_("address or key digest"), max_length=64)
    failures = models.PositiveIntegerField(
        _("failures"), default=0,
        help_text=_("Wrong passwords sent from this device since it last signed in."))
    last_sign_in_at = models.DateTimeField(_("last sign-in"))

    class Meta:
        verbose_name = _("known address or device")
        verbose_name_plural = _("known addresses and devices")
        ordering = ["-last_sign_in_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "value"], name="accounts_knownclient_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.value[:12]}"
