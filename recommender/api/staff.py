"""Staff-only API views: training runs and model versions, for staff with the same Django
model permissions the admin asks for. Everyone else gets 403."""
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.permissions import DjangoModelPermissions
from rest_framework.request import Request
from rest_framework.response import Response

from ..training import runs, versions
from . import serializers as s
from .base import BodyLimitMixin, django_errors, parse


class StaffModelPermissions(DjangoModelPermissions):
    """Allow staff who hold the model's permission, as the admin does: `view` to read, `add`
    to start a training run (the admin's "Train now"). Superusers hold every permission."""

    view_perm = ["%(app_label)s.view_%(model_name)s"]
    perms_map = {**DjangoModelPermissions.perms_map, "GET": view_perm, "HEAD": view_perm, "OPTIONS": view_perm}

    def has_permission(self, request: Request, view) -> bool:
        """Return True for active staff with the permission this method needs, False otherwise."""
        return bool(request.user and request.user.is_staff) and super().has_permission(request, view)


class TrainingRunListView(BodyLimitMixin, generics.ListAPIView):
    """Training runs, newest first; POST starts one."""

    permission_classes = [StaffModelPermissions]
    serializer_class = s.TrainingRunSerializer

    def get_queryset(self):
        return runs.training_run_list()

    @extend_schema(summary="Training runs (staff)")
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.TrainingRunInSerializer,
                   responses={202: s.TrainingRunStartedSerializer,
                              409: OpenApiResponse(description="A run is already queued or running.")},
                   summary="Start a training run (staff)")
    def post(self, request: Request) -> Response:
        data = parse(s.TrainingRunInSerializer, request.data)
        try:
            run = runs.training_run_start(hyperparams=data.get("hyperparams"), requested_by=request.user,
                                          only_when_idle=True)
        except runs.TrainingBusy as exc:
            return Response({"detail": str(exc), "id": exc.run.pk}, status=status.HTTP_409_CONFLICT)
        except DjangoValidationError as exc:
            raise exceptions.ValidationError({"hyperparams": django_errors(exc)}) from None
        return Response({"id": run.pk, "status": run.status}, status=status.HTTP_202_ACCEPTED)


class TrainingRunDetailView(generics.RetrieveAPIView):
    permission_classes = [StaffModelPermissions]
    serializer_class = s.TrainingRunSerializer
    lookup_url_kwarg = "run_id"

    def get_queryset(self):
        return runs.training_run_list()

    @extend_schema(summary="One training run and its progress (staff)")
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class ModelVersionListView(generics.ListAPIView):
    permission_classes = [StaffModelPermissions]
    serializer_class = s.ModelVersionSerializer

    def get_queryset(self):
        return versions.model_version_list()

    @extend_schema(summary="Model versions with metrics; `is_active` marks the one in use (staff)")
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)
