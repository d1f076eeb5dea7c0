"""Smoke tests for the admin pages of the catalogue."""
import pytest

from recommender.activity.services import EventInput, event_record


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
    from recommender.training.versions import file_sha256

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


def test_training_run_page_shows_its_json_as_tables_with_rounded_numbers(admin_client):
    """Hyper-parameters, metrics and the per-epoch history are tables, numbers rounded, no
    raw JSON."""
    from recommender.models import RunStatus, TrainingRun

    run = TrainingRun.objects.create(
        status=RunStatus.SUCCEEDED, hyperparams={"lr": 0.002, "max_epochs": 3},
        metrics={"val_ndcg@10": 0.123456789, "epochs": 3},
        history=[{"epoch": 1, "loss": 9.87654321, "val_ndcg@10": 0.0123456789, "lr": 0.002}])
    html = admin_client.get(f"/admin/recommender/trainingrun/{run.pk}/change/").content.decode()
    assert html.count('class="recsite-facts"') == 3
    assert "<td>0.1235</td>" in html and "<td>9.8765</td>" in html and "<td>0.0123</td>" in html
    assert "0.123456789" not in html and '{"lr"' not in html


def test_time_left_is_about_with_a_horizon_and_at_most_without(admin_client):
    """The list's "time left": from the horizon an estimate ("about"), from max_epochs a
    bound ("at most"); in minutes and seconds, translated."""
    from recommender.models import RunStatus, TrainingRun

    TrainingRun.objects.create(status=RunStatus.RUNNING, epoch=2, max_epochs=200, eta_s=275.0, horizon=9.0)
    TrainingRun.objects.create(status=RunStatus.RUNNING, epoch=2, max_epochs=200, eta_s=6720.0)
    html = admin_client.get("/admin/recommender/trainingrun/").content.decode()
    assert "about 4 min 35 s" in html and "at most 1 h 52 min" in html
    admin_client.cookies["django_language"] = "zh-hans"
    html = admin_client.get("/admin/recommender/trainingrun/").content.decode()
    assert "约 4 分 35 秒" in html and "最多 1 小时 52 分钟" in html


def test_axes_admin_is_translated(admin_client):
    """django-axes's admin section and its columns read in Chinese."""
    from axes.models import AccessAttempt

    AccessAttempt.objects.create(user_agent="test", ip_address="127.0.0.1", username="bob", http_accept="*/*",
                                 path_info="/accounts/login/", get_data="", post_data="", failures_since_start=2)
    admin_client.cookies["django_language"] = "zh-hans"
    html = admin_client.get("/admin/").content.decode()
    assert "登录锁定" in html and "登录尝试" in html and "Axes" not in html
    html = admin_client.get("/admin/axes/accessattempt/").content.decode()
    assert "用户代理" in html and "次尝试机会剩余" in html and "Attempt Remaining" not in html
