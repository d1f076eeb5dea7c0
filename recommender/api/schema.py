"""OpenAPI details drf-spectacular cannot infer: the token scheme, every error answer,
and request bodies that refuse unknown fields."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

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
BODY_ERRORS = {
    "413": "The request body is too large.",
    "415": "The body is not JSON.",
}


class ApiAutoSchema(AutoSchema):
    """Tag each operation by its first path segment after /api/v1/."""

    def get_tags(self) -> list[str]:
        parts = [p for p in self.path.split("/") if p and p not in ("api", "v1")]
        return [parts[0] if parts else "api"]


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
    """Document every error answer on every operation; refuse unknown fields in bodies."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    for name, schema in schemas.items():
        if name.endswith("Request") and schema.get("type") == "object":
            schema["additionalProperties"] = False
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            errors = dict(ERRORS)
            if "requestBody" in operation:
                errors.update(BODY_ERRORS)
            for status, text in errors.items():
                responses.setdefault(status, _error_response(text, status))
    return result
