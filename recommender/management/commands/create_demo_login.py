"""`manage.py create_demo_login`: an account you can log in as, with a demo history.

Imported and generated people are placeholders that cannot log in; this gives a local
site one real account whose history is a copy of a demo person's, so the first visit
already shows personal recommendations. Local development only.
"""
import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from recommender.serving import answer_cache
from recommender.models import Event
from recsite.accounts.models import User

DEFAULT_PASSWORD = "demo-recsite-2026"


class Command(BaseCommand):
    help = "Create (or refresh) the login 'demo' with a copy of a demo person's history."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="demo")
        parser.add_argument("--from-person", default="demo:u0001",
                            help="placeholder whose history is copied (default demo:u0001)")
        parser.add_argument("--password", default=os.environ.get("RECSITE_DEMO_PASSWORD", DEFAULT_PASSWORD))
        parser.add_argument("--allow-production", action="store_true",
                            help="allow it with DEBUG off (a known password: think twice)")

    @transaction.atomic
    def handle(self, *args, username: str, from_person: str, password: str,
               allow_production: bool, **options) -> None:
        if not settings.DEBUG and not allow_production:
            raise CommandError("Refusing to create an account with a known password while DEBUG "
                               "is off; pass --allow-production if you mean it.")
        source = User.objects.filter(username=from_person).first()
        if source is None:
            raise CommandError(f"No person named {from_person!r}; run `manage.py generate_demo` first.")
        user, created = User.objects.get_or_create(username=username)
        if not created and user.is_placeholder:
            raise CommandError(f"{username!r} is an imported placeholder; choose another --username.")
        user.set_password(password)
        user.save()
        copies = [
            Event(user=user, item_id=e.item_id, kind=e.kind, value=e.value, occurred_at=e.occurred_at,
                  client_event_id=f"demo-copy:{e.pk}")
            for e in Event.objects.filter(user=source).order_by("occurred_at", "id")
        ]
        Event.objects.bulk_create(copies, ignore_conflicts=True)
        answer_cache.people_changed([user.pk])
        self.stdout.write(self.style.SUCCESS(
            f"Log in as {username!r} with password {password!r} "
            f"({len(copies)} events copied from {from_person!r})."))
