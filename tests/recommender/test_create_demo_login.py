"""Tests for the local demo login."""
import pytest
from django.core.management import CommandError, call_command
from django.http import HttpRequest
from django.test import Client

from recommender.models import Event
from recsite.accounts.models import User


@pytest.fixture
def demo_data(db):
    call_command("generate_demo", "--items", "40", "--users", "10", stdout=open("/dev/null", "w"))


def test_demo_login_copies_a_history_and_can_log_in(demo_data, settings):
    """The account logs in and holds a copy of demo:u0001's events; a second run adds nothing."""
    settings.DEBUG = True
    call_command("create_demo_login", "--password", "Pw-for-tests-1", stdout=open("/dev/null", "w"))
    call_command("create_demo_login", "--password", "Pw-for-tests-1", stdout=open("/dev/null", "w"))
    demo, source = User.objects.get(username="demo"), User.objects.get(username="demo:u0001")
    assert Event.objects.filter(user=demo).count() == Event.objects.filter(user=source).count() > 0
    # With a request, as every login path passes one (axes refuses calls without).
    assert Client().login(request=HttpRequest(), username="demo", password="Pw-for-tests-1")


def test_demo_login_refused_without_debug(demo_data, settings):
    """With DEBUG off, no account with a known password is created."""
    settings.DEBUG = False
    with pytest.raises(CommandError, match="Refusing"):
        call_command("create_demo_login")
    assert not User.objects.filter(username="demo").exists()
