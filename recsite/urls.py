"""Top-level URL configuration."""
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from . import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("accounts/", include("recsite.accounts.urls")),
    path("api/", include("recommender.api.urls")),
    path("", include("explain.urls")),
    path("", include("recommender.urls")),
]

# JSON under /api/, the site's pages elsewhere (recsite/errors.py).
handler400 = "recsite.errors.bad_request"
handler403 = "recsite.errors.permission_denied"
handler404 = "recsite.errors.page_not_found"
handler500 = "recsite.errors.server_error"
