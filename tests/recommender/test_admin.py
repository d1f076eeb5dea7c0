"""Smoke tests for the admin pages of the catalogue."""
import pytest

from recommender.services import EventInput, event_record


@pytest.mark.parametrize("model", ["item", "genre", "event", "usercontrol"])
def test_admin_changelists_render(admin_client, make_user, make_item, model):
    """Each recommender changelist renders for staff, with data present."""
    item = make_item()
    event_record(user=make_user(), data=EventInput(item=item, kind="rate", value=5))
    response = admin_client.get(f"/admin/recommender/{model}/")
    assert response.status_code == 200


def test_admin_event_filters(admin_client, make_user, make_item):
    """The event list filters by kind."""
    event_record(user=make_user(), data=EventInput(item=make_item(title="Alpha"), kind="like"))
    response = admin_client.get("/admin/recommender/event/?kind__exact=rate")
    assert response.status_code == 200 and b"Alpha" not in response.content
