"""OpenAPI details drf-spectacular cannot infer: the token scheme, every error answer,
request bodies that refuse unknown fields, a DELETE's body, a list's length."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import force_instance, is_list_serializer
from drf_spectacular.utils import PolymorphicProxySerializer

ERROR_SCHEMA = {
    "type": "object",
    "description": "`detail` says what went wrong; a 400 names each bad field "
    "(`{field: [message]}`), a refused batch lists `errors` by index.",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": True,
}

ERRORS = {
    "400": "Invalid input: field errors, or for a batch, errors by index.",
    "401": "No credentials, or an invalid token.",
    "403": "Not allowed: staff only, or a missing CSRF token with session auth.",
    "404": "Not found, or not yours.",
    "429": "Too many requests; retry after `Retry-After` seconds.",
}
NO_NUL = "^[^\\u0000]*$"
BODY_ERRORS = {
    "413": "The request body is too large.",
    "415": "The body is not JSON.",
}


def _needs_input(serializer) -> bool:
    """Return True if a request body for this serializer cannot be empty."""
    if is_list_serializer(serializer):
        return bool(serializer.min_length) or not serializer.allow_empty
    return any(field.required and not field.read_only for field in serializer.fields.values())


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's schema of an operation, completed where it falls short for this API."""

    def get_tags(self) -> list[str]:
        """Tag each operation by its first path segment after /api/v1/."""
        parts = [p for p in self.path.split("/") if p and p not in ("api", "v1")]
        return [parts[0] if parts else "api"]

    def _get_request_body(self, direction="request"):
        """Document a DELETE's body where its serializer takes input (DELETE /controls/ names
        the control to turn off): drf-spectacular documents bodies of PUT, PATCH and POST only."""
        method = self.method
        if method == "DELETE":
            serializer = force_instance(self.get_request_serializer())
            if serializer is None or not hasattr(serializer, "fields") or not _needs_input(serializer):
                return None
            self.method = "POST"  # what the body is documented like
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = method

    def _get_request_for_media_type(self, serializer, direction="request"):
        """A body that is one of several shapes (one event, or a list of them) is required when
        each shape is."""
        schema, required = super()._get_request_for_media_type(serializer, direction)
        proxy = force_instance(serializer)
        if isinstance(proxy, PolymorphicProxySerializer) and isinstance(proxy.serializers, list):
            required = all(_needs_input(force_instance(sub)) for sub in proxy.serializers)
        return schema, required

    def _unwrap_list_serializer(self, serializer, direction):
        """A list's `min_length` and `max_length` bound its items (drf-spectacular drops them)."""
        schema = super()._unwrap_list_serializer(serializer, direction)
        if schema is not None and is_list_serializer(serializer):
            if serializer.min_length is not None:
                schema["minItems"] = serializer.min_length
            if serializer.max_length is not None:
                schema["maxItems"] = serializer.max_length
        return schema


class DeviceTokenScheme(OpenApiAuthenticationExtension):
    target_class = "recommender.api.authentication.DeviceTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`, the key from POST /api/v1/auth/token/.",
        }


def _error_response(text: str, status: str) -> dict:
    response: dict = {
        "description": text,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if status == "429":
        response["headers"] = {
            "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}
        }
    return response


def postprocess_strict_requests(result: dict, generator, request, public) -> dict:
    """Document every error answer on every operation; refuse unknown fields, and NUL in text, in bodies."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    for name, schema in schemas.items():
        if name.endswith("Request") and schema.get("type") == "object":
            schema["additionalProperties"] = False
            for field in schema.get("properties", {}).values():
                if field.get("type") == "string" and not {"format", "enum", "pattern"} & set(field):
                    field["pattern"] = NO_NUL  # DRF's text fields refuse NUL characters
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            errors = dict(ERRORS)
            if "requestBody" in operation:
                errors.update(BODY_ERRORS)
            for status, text in errors.items():
                responses.setdefault(status, _error_response(text, status))
    return result

