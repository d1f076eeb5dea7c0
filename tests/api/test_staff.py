"""Training runs and model versions: staff only."""
import pytest

from recommender.models import ModelVersion, TrainingRun

STAFF_URLS = ["/api/v1/training-runs/", "/api/v1/model-versions/"]


@pytest.fixture
def staff(make_user):
    return make_user("staff", is_staff=True)


@pytest.mark.parametrize("url", STAFF_URLS)
def test_staff_lists_answer_403_to_others(alice, api_client_for, url):
    assert api_client_for(alice).get(url).status_code == 403


def test_others_cannot_start_or_read_runs(alice, api_client_for):
    run = TrainingRun.objects.create()
    client = api_client_for(alice)
    assert client.post("/api/v1/training-runs/", {}, format="json").status_code == 403
    assert client.get(f"/api/v1/training-runs/{run.pk}/").status_code == 403
    assert TrainingRun.objects.count() == 1


def test_staff_starts_a_run_and_follows_it(staff, api_client_for):
    client = api_client_for(staff)
    response = client.post("/api/v1/training-runs/", {"hyperparams": {"max_epochs": 2}}, format="json")
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    run = client.get(f"/api/v1/training-runs/{body['id']}/").json()
    assert run["id"] == body["id"] and run["progress"] == 0 and run["model_version"] is None
    assert TrainingRun.objects.get().requested_by == staff


def test_a_second_run_while_one_is_going_answers_409(staff, api_client_for):
    """Two runs would race for the workers; the second request names the first."""
    client = api_client_for(staff)
    first = client.post("/api/v1/training-runs/", {}, format="json").json()
    second = client.post("/api/v1/training-runs/", {}, format="json")
    assert second.status_code == 409
    assert second.json()["id"] == first["id"] and "already" in second.json()["detail"]
    assert TrainingRun.objects.count() == 1
    TrainingRun.objects.filter(pk=first["id"]).update(status="succeeded")
    assert client.post("/api/v1/training-runs/", {}, format="json").status_code == 202


@pytest.mark.parametrize("hyperparams", [{"max_epochs": 0}, {"nope": 1}, {"lr": "fast"}])
def test_bad_hyperparams_answer_400(staff, api_client_for, hyperparams):
    response = api_client_for(staff).post("/api/v1/training-runs/", {"hyperparams": hyperparams}, format="json")
    assert response.status_code == 400
    assert not TrainingRun.objects.exists()


def test_model_versions_show_which_is_active(staff, api_client_for):
    ModelVersion.objects.create(artifact_path="a", checksum="0" * 64, metrics={"val_ndcg@10": 0.1})
    active = ModelVersion.objects.create(artifact_path="b", checksum="1" * 64, is_active=True)
    results = api_client_for(staff).get("/api/v1/model-versions/").json()["results"]
    assert [(v["id"], v["is_active"]) for v in results][0] == (active.pk, True)
    assert len(results) == 2
