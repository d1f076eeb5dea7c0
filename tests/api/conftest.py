"""Fixtures of the API tests: signed-in clients and stored recommendations."""
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from recommender.api.tokens import token_create
from recommender.models import ModelVersion, Recommendation
from recsite.accounts.models import User


@pytest.fixture
def api_client_for(db):
    """Return a factory: an APIClient signed in with a fresh device token of `user`."""

    def make(user: User) -> APIClient:
        client = APIClient()
        _token, key = token_create(user=user, device="test")
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    return make


@pytest.fixture
def alice(make_user) -> User:
    return make_user("alice")


@pytest.fixture
def bob(make_user) -> User:
    return make_user("bob")


@pytest.fixture
def make_recommendations(db):
    """Return a factory storing `items` as a person's list, best first, under one model version."""

    def make(user: User, items: list, version: ModelVersion | None = None) -> list[Recommendation]:
        version = version or ModelVersion.objects.filter(is_active=True).first() or ModelVersion.objects.create(
            artifact_path="/nonexistent", checksum="0" * 64, is_active=True, activated_at=timezone.now())
        now = timezone.now()
        return Recommendation.objects.bulk_create([
            Recommendation(user=user, item=item, rank=rank, score=1.0 / rank, model_version=version,
                           computed_at=now)
            for rank, item in enumerate(items, start=1)
        ])

    return make
