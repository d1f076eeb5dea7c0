"""Accounts: the custom user model."""
