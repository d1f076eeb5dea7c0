"""Signals of the accounts app."""
from django.dispatch import Signal

# Sent after a person's new password was saved (a change, a reset, the admin, the
# `changepassword` command), not for a new account and not when Django only re-hashes the
# same password with stronger settings. Arguments: `user`.
password_changed = Signal()
