"""Account pages: sign up, log in and out, password change and reset, language."""
import re

import pytest
from django.core import mail
from django.http import HttpRequest
from django.urls import reverse

from recsite.accounts.models import User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_signup_creates_user_and_logs_in(client):
    """Signing up creates the account and the person is logged in at once."""
    response = client.post(
        reverse("signup"),
        {"username": "carol", "email": "", "password1": PASSWORD, "password2": PASSWORD},
        follow=True,
    )
    assert User.objects.filter(username="carol").exists()
    assert response.context["user"].username == "carol"
    assert "Rate a few items to get recommendations" in response.text


def test_signup_mismatched_passwords_shows_errors(client):
    """A bad form is shown again with its errors and creates nobody."""
    response = client.post(
        reverse("signup"), {"username": "carol", "password1": PASSWORD, "password2": "other"}
    )
    assert response.status_code == 200 and response.context["form"].errors
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "name",
    ["signup", "login", "password_reset", "password_reset_done", "password_reset_complete"],
)
def test_account_pages_render(client, name):
    """Every public account page renders."""
    assert client.get(reverse(name)).status_code == 200


def test_login_and_logout(client, make_user):
    """A person logs in with their password and logs out with a POST."""
    make_user("alice")
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert "_auth_user_id" in client.session
    client.post(reverse("logout"))
    assert "_auth_user_id" not in client.session


def test_login_wrong_password_is_refused(client, make_user):
    """A wrong password shows the form again with an error."""
    make_user("alice")
    response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    assert response.status_code == 200 and response.context["form"].non_field_errors()


def test_placeholder_cannot_log_in(client):
    """An imported placeholder account cannot log in, even with a password set."""
    user = User.objects.create_user(username="ml_1", is_placeholder=True)
    # With a request, as every login path passes one (axes refuses calls without).
    assert client.login(request=HttpRequest(), username="ml_1", password="") is False
    user.set_password(PASSWORD)
    user.save()
    response = client.post(reverse("login"), {"username": "ml_1", "password": PASSWORD})
    assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_password_change(client, make_user):
    """A logged-in person can change their password."""
    user = make_user("alice")
    client.force_login(user)
    assert client.get(reverse("password_change")).status_code == 200
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "n3w-Passw0rd!x", "new_password2": "n3w-Passw0rd!x"},
    )
    assert response["Location"] == reverse("password_change_done")
    user.refresh_from_db()
    assert user.check_password("n3w-Passw0rd!x")


def test_password_reset_sends_a_working_link(client, make_user):
    """Reset sends an e-mail whose link lets the person set a new password."""
    make_user("alice", email="alice@example.com")
    client.post(reverse("password_reset"), {"email": "alice@example.com"})
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/\S+)", mail.outbox[0].body).group(1)
    form_url = client.get(link)["Location"]
    response = client.post(form_url, {"new_password1": "n3w-Passw0rd!x", "new_password2": "n3w-Passw0rd!x"})
    assert response["Location"] == reverse("password_reset_complete")
    assert User.objects.get(username="alice").check_password("n3w-Passw0rd!x")


def test_language_switcher_renders_chinese(client, make_item):
    """Choosing 简体中文 in the switcher serves the pages in Chinese."""
    make_item("Heat")
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": "/items/"}, follow=True)
    assert '<html lang="zh-hans">' in response.text
    assert "目录" in response.text


def test_logging_out_says_so(client, make_user):
    """After "Log out" the next page tells the person they are logged out."""
    client.force_login(make_user("leaver"))
    response = client.post(reverse("logout"), follow=True)
    assert "You have logged out." in response.text
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("email", ["alice@example.com", "ALICE@Example.COM", " Alice@example.com "])
def test_signup_refuses_an_email_another_account_uses(client, make_user, email):
    """A password reset for a shared address would reach both accounts: the second sign-up
    is refused, whatever the case, with the form shown again and nobody created."""
    make_user("alice", email="alice@example.com")
    response = client.post(reverse("signup"), {
        "username": "mallory", "email": email, "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 200
    assert "Another account already uses this e-mail address" in response.text
    assert not User.objects.filter(username="mallory").exists()


def test_signup_without_email_or_with_a_new_one_works(client, make_user):
    """Leaving the address out is fine for any number of accounts; a new address is kept."""
    make_user("alice", email="")
    for name, email in (("bob", ""), ("carol", "carol@example.com")):
        client.post(reverse("signup"), {"username": name, "email": email, "password1": PASSWORD,
                                        "password2": PASSWORD})
        client.post(reverse("logout"))
    assert User.objects.get(username="carol").email == "carol@example.com"
    assert User.objects.filter(username="bob").exists()
