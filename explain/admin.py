"""Staff views: explanation records, any person's "why this?" page, and the model page."""
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from recsite.accounts.models import User

from . import selectors, views
from .models import Explanation


@admin.register(Explanation)
class ExplanationAdmin(admin.ModelAdmin):
    list_display = ("user", "item", "rank", "status", "verified", "computed_at", "compute_ms", "page_link")
    list_filter = ("status", "verified")
    search_fields = ("user__username", "item__title")
    list_select_related = ("user", "item")
    readonly_fields = [f.name for f in Explanation._meta.fields]
    change_list_template = "admin/explain/explanation/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=_("page"))
    def page_link(self, obj: Explanation) -> str:
        url = reverse("admin:explain_explanation_page", args=[obj.user_id, obj.item_id])
        return format_html('<a href="{}">{}</a>', url, _("Why this?"))

    def get_urls(self):
        return [
            path("<int:user_id>/<int:item_id>/why/", self.admin_site.admin_view(self.page_view),
                 name="explain_explanation_page"),
            path("model/", self.admin_site.admin_view(self.model_view), name="explain_model"),
            *super().get_urls(),
        ]

    def page_view(self, request: HttpRequest, user_id: int, item_id: int) -> HttpResponse:
        """Show any person's explanation page to staff allowed to view explanations."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        person = get_object_or_404(User, pk=user_id)
        return views.explanation_page(request, user=person, item_id=item_id,
                                      template="explain/staff_why.html", extra={"staff_view": True})

    def model_view(self, request: HttpRequest) -> HttpResponse:
        """Show training curves per run, metrics per version and the item-to-item graph."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        return render(request, "explain/staff_model.html", selectors.model_overview())
