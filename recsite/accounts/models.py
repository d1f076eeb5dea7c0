"""The site's user model."""
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


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
