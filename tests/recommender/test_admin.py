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


@pytest.mark.parametrize("model", ["trainingrun", "modelversion", "recommendation"])
def test_pipeline_changelists_render(admin_client, model):
    """The pipeline's changelists render for staff."""
    assert admin_client.get(f"/admin/recommender/{model}/").status_code == 200


def test_train_now_queues_a_run(admin_client, django_capture_on_commit_callbacks):
    """The "Train now" button queues one run and says so."""
    from recommender.models import TrainingRun

    with django_capture_on_commit_callbacks(execute=False):
        response = admin_client.post("/admin/recommender/trainingrun/train-now/", follow=True)
    assert TrainingRun.objects.filter(status="queued").count() == 1
    assert b"is queued" in response.content


def test_train_now_refuses_a_second_run_while_one_is_going(admin_client, django_capture_on_commit_callbacks):
    """Pressed twice, "Train now" queues one run and says the first is already queued."""
    from recommender.models import TrainingRun

    with django_capture_on_commit_callbacks(execute=False):
        admin_client.post("/admin/recommender/trainingrun/train-now/")
        response = admin_client.post("/admin/recommender/trainingrun/train-now/", follow=True)
    assert TrainingRun.objects.count() == 1
    assert b"is already queued" in response.content


def test_train_now_refuses_get(admin_client):
    """A GET to "Train now" starts nothing."""
    from recommender.models import TrainingRun

    admin_client.get("/admin/recommender/trainingrun/train-now/")
    assert not TrainingRun.objects.exists()


def test_activate_refuses_a_tampered_artifact(admin_client, tmp_path):
    """Activating a version whose artifact does not match its checksum changes nothing."""
    from recommender.models import ModelVersion

    artifact = tmp_path / "m.ckpt"
    artifact.write_bytes(b"not the model that was trained")
    version = ModelVersion.objects.create(artifact_path=str(artifact), checksum="0" * 64)
    response = admin_client.post(
        "/admin/recommender/modelversion/",
        {"action": "activate", "_selected_action": [version.pk]}, follow=True,
    )
    assert b"does not match its checksum" in response.content
    assert not ModelVersion.objects.filter(is_active=True).exists()


def test_activate_and_roll_back(admin_client, tmp_path, django_capture_on_commit_callbacks):
    """Activating a verified version makes it the only active one; roll back restores the
    previous one."""
    from recommender.models import ModelVersion
    from recommender.pipeline import file_sha256

    versions = []
    for n in range(2):
        artifact = tmp_path / f"m{n}.ckpt"
        artifact.write_bytes(f"model {n}".encode())
        versions.append(ModelVersion.objects.create(artifact_path=str(artifact), checksum=file_sha256(artifact)))
    with django_capture_on_commit_callbacks(execute=False):
        for version in versions:
            admin_client.post("/admin/recommender/modelversion/",
                              {"action": "activate", "_selected_action": [version.pk]})
        assert ModelVersion.objects.get(is_active=True) == versions[1]
        admin_client.post("/admin/recommender/modelversion/",
                          {"action": "roll_back", "_selected_action": [versions[1].pk]})
    assert ModelVersion.objects.get(is_active=True) == versions[0]
