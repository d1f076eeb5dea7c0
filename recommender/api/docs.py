"""The OpenAPI schema and Swagger UI views, whose errors answer JSON like the rest of the API.

(Not in schema.py: drf-spectacular's views need the schema class that module defines.)
"""
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response


class JsonErrorsMixin:
    """Answer errors and OPTIONS in JSON with `detail`, as every API view does; a successful
    GET keeps the view's own format (the Swagger UI's HTML, the schema's YAML or JSON)."""

    def finalize_response(self, request: Request, response, *args, **kwargs):
        if isinstance(response, Response) and (request.method not in ("GET", "HEAD") or response.status_code >= 400):
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


class SchemaView(JsonErrorsMixin, SpectacularAPIView):
    """The OpenAPI schema (YAML, or JSON when asked for)."""


class SwaggerView(JsonErrorsMixin, SpectacularSwaggerSplitView):
    """The Swagger UI page, served with the sidecar package's files (no CDN)."""
