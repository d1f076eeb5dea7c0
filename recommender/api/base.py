"""Shared pieces of the API views: body size limits, input parsing, error formats."""
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class BodyLimitMixin:
    """Answer 413 before reading a body over `max_body_bytes`.

    DRF's parsers read the stream directly, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE
    (checked only by `request.body`) never applies to them.
    """

    max_body_bytes = 64 * 1024

    def initial(self, request: Request, *args, **kwargs) -> None:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > self.max_body_bytes:
            raise PayloadTooLarge(
                _("The body has %(n)d bytes; at most %(max)d are accepted.")
                % {"n": length, "max": self.max_body_bytes}
            )
        super().initial(request, *args, **kwargs)


def parse(serializer_class: type[serializers.Serializer], data) -> dict:
    """Return the validated data, or raise a 400 listing each field's errors."""
    if not isinstance(data, dict):
        raise exceptions.ValidationError({"detail": _("Send a JSON object.")})
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def django_errors(exc: DjangoValidationError) -> dict | list:
    """Return a Django ValidationError in DRF's shape ({field: [messages]})."""
    if hasattr(exc, "error_dict"):
        return {("detail" if k == "__all__" else k): v for k, v in exc.message_dict.items()}
    return {"detail": " ".join(exc.messages)}


# The largest integer a query parameter may hold (nine digits); the schema says so.
QUERY_INT_MAX = 10**9 - 1


def query_int(request: Request, name: str, *, default: int, minimum: int, cap: int) -> int:
    """Return an integer query parameter, `minimum` to QUERY_INT_MAX, values above `cap` lowered to it."""
    raw = query_value(request, name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9 or int(raw) < minimum:
        raise exceptions.ValidationError({name: [_("A whole number of at least %(min)d.") % {"min": minimum}]})
    return min(int(raw), cap)


def query_value(request: Request, name: str) -> str | None:
    """Return a query parameter given at most once, or None; a repeated one answers 400."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise exceptions.ValidationError({name: [_("Give this parameter once.")]})
    return values[0] if values else None
