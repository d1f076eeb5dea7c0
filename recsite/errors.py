"""Error answers that Django makes itself: JSON with `detail` under /api/, the site's pages
elsewhere. They cover what happens outside the API's views (a refused Host header, an
unexpected exception), so that a client of the API never has to parse an HTML page."""
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """400: a request Django refused before any view (e.g. a Host not allowed)."""
    if _is_api(request):
        return JsonResponse({"detail": _("Bad request.")}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """403 raised outside the API's own permission checks."""
    if _is_api(request):
        return JsonResponse({"detail": _("You do not have permission to perform this action.")}, status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404 raised outside the API's views."""
    if _is_api(request):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """500: an unexpected exception (it is logged with its traceback by Django)."""
    if _is_api(request):
        return JsonResponse({"detail": _("Server error. Try again later.")}, status=500)
    return defaults.server_error(request)
