"""My controls over the API: on, off, listed."""
from recommender.models import UserControl

URL = "/api/v1/controls/"


def test_control_on_off(alice, api_client_for, make_item):
    """POST turns a control on (201, then 200), DELETE turns it off (204, then 404)."""
    client, item = api_client_for(alice), make_item()
    body = {"item": item.pk, "control": "exclude"}
    assert client.post(URL, body, format="json").status_code == 201
    assert client.post(URL, body, format="json").status_code == 200
    listed = client.get(URL).json()["results"]
    assert [(c["item"], c["control"]) for c in listed] == [(item.pk, "exclude")]
    assert client.delete(URL, body, format="json").status_code == 204
    assert client.delete(URL, body, format="json").status_code == 404
    assert not UserControl.objects.exists()


def test_bad_controls_answer_400(alice, api_client_for, make_item):
    client, item = api_client_for(alice), make_item()
    for body in ({"item": item.pk, "control": "hide"}, {"item": 999999, "control": "exclude"},
                 {"item": item.pk, "control": "exclude", "user": 2}, {"item": item.pk}):
        assert client.post(URL, body, format="json").status_code == 400
