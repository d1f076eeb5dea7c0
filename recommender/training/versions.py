"""Model versions: an artifact's checksum, activating a version (everyone is rescored with
it), rolling back to the one before, and which is active."""
import hashlib
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from recsite import dispatch

from ..models import ModelVersion


def file_sha256(path: str | Path) -> str:
    """Return the sha256 of a whole file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@transaction.atomic
def model_version_activate(*, version: ModelVersion) -> ModelVersion:
    """Make `version` the one active model, after verifying its artifact's checksum.

    Raises ValidationError if the artifact is missing or does not match; the active
    version is then unchanged. Everyone is rescored with it after commit.
    """

    path = Path(version.artifact_path)
    if not path.is_file():
        raise ValidationError(_("The artifact of %(v)s is missing.") % {"v": version})
    if file_sha256(path) != version.checksum:
        raise ValidationError(_("The artifact of %(v)s does not match its checksum.") % {"v": version})
    ModelVersion.objects.select_for_update().filter(is_active=True).exclude(pk=version.pk).update(is_active=False)
    version.is_active = True
    version.activated_at = timezone.now()
    version.save(update_fields=["is_active", "activated_at"])
    dispatch.on_commit("recommender.tasks.scoring_rescore_all", version.pk)
    return version


def model_version_rollback() -> ModelVersion:
    """Re-activate the version that was active before the current one."""
    previous = (
        ModelVersion.objects.filter(is_active=False, activated_at__isnull=False)
        .order_by("-activated_at").first()
    )
    if previous is None:
        raise ValidationError(_("There is no earlier version to roll back to."))
    return model_version_activate(version=previous)


def model_version_active() -> ModelVersion | None:
    """Return the active model version, or None before the first training."""
    return ModelVersion.objects.filter(is_active=True).first()


def model_version_list() -> QuerySet[ModelVersion]:
    """Return every model version, newest first."""
    return ModelVersion.objects.order_by("-created_at", "-id")
