"""Training runs and model versions: staff with the model permissions the admin asks for."""
import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from recommender.models import ModelVersion, TrainingRun

STAFF_URLS = ["/api/v1/training-runs/", "/api/v1/model-versions/"]
READ = ["view_trainingrun", "view_modelversion"]


@pytest.fixture
def make_staff(make_user):
    """Return a factory: a staff member holding these recommender permissions."""

    def make(username: str, codenames: list[str], **extra):
        user = make_user(username, is_staff=True, **extra)
        user.user_permissions.set(Permission.objects.filter(content_type__app_label="recommender",
                                                            codename__in=codenames))
        return user

    return make


@pytest.fixture
def staff(make_staff):
    """Staff who may read runs and versions and start a run."""
    return make_staff("staff", [*READ, "add_trainingrun"])


def admin_status(user, path: str, method: str = "get") -> int:
    client = Client()
    client.force_login(user)
    return getattr(client, method)(path).status_code


def test_staff_without_permissions_are_refused_like_in_the_admin(make_staff, api_client_for):
    """`is_staff` alone opens neither the admin's pages nor the staff API."""
    bare = make_staff("bare", [])
    run = TrainingRun.objects.create()
    client = api_client_for(bare)
    for url in [*STAFF_URLS, f"/api/v1/training-runs/{run.pk}/"]:
        assert client.get(url).status_code == 403, url
    assert client.post("/api/v1/training-runs/", {}, format="json").status_code == 403
    assert TrainingRun.objects.count() == 1
    assert admin_status(bare, "/admin/recommender/trainingrun/") == 403
    assert admin_status(bare, "/admin/recommender/modelversion/") == 403


def test_staff_who_may_view_read_but_cannot_start_a_run(make_staff, api_client_for):
    """The view permissions read both lists; starting a run needs `add_trainingrun`, in the
    API as in the admin's "Train now"."""
    viewer = make_staff("viewer", READ)
    client = api_client_for(viewer)
    assert [client.get(url).status_code for url in STAFF_URLS] == [200, 200]
    assert client.post("/api/v1/training-runs/", {}, format="json").status_code == 403
    assert admin_status(viewer, "/admin/recommender/trainingrun/") == 200
    admin_status(viewer, "/admin/recommender/trainingrun/train-now/", "post")
    assert not TrainingRun.objects.exists()


def test_each_permission_opens_only_its_own_list(make_staff, api_client_for):
    """Viewing runs does not show model versions, and the other way round."""
    client = api_client_for(make_staff("runs", ["view_trainingrun"]))
    assert [client.get(url).status_code for url in STAFF_URLS] == [200, 403]
    client = api_client_for(make_staff("versions", ["view_modelversion"]))
    assert [client.get(url).status_code for url in STAFF_URLS] == [403, 200]


def test_superusers_and_not_staff_with_permissions(make_user, api_client_for):
    """A superuser holds every permission; permissions without `is_staff` open nothing."""
    root = api_client_for(make_user("root", is_staff=True, is_superuser=True))
    assert root.post("/api/v1/training-runs/", {}, format="json").status_code == 202
    outsider = make_user("outsider")
    outsider.user_permissions.set(Permission.objects.filter(codename__in=[*READ, "add_trainingrun"]))
    client = api_client_for(outsider)
    assert [client.get(url).status_code for url in STAFF_URLS] == [403, 403]


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
