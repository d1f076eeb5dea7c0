"""A small Content-Security-Policy middleware (Django 5.2 has none built in).

No `unsafe-eval` and no inline scripts: plots arrive as `json_item` data in a
`json_script` tag and one static script embeds them, so no Bokeh model compiles code.
`style-src` needs `'unsafe-inline'` because BokehJS sets styles on the elements it creates
and injects <style> into its shadow roots; without it plots render blank.
`img-src data:` is for Bokeh's toolbar icons.
"""
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
])


class ContentSecurityPolicyMiddleware:
    """Add the site's Content-Security-Policy header to every response that lacks one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", POLICY)
        return response
