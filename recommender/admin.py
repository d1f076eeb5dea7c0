"""Admin for the catalogue, interaction events and people's controls."""
from django.contrib import admin
from django.db.models import Count

from .models import Event, Genre, Item, UserControl


@admin.register(Genre)
class GenreAdmin(admin.ModelAdmin):
    list_display = ("name", "item_count")
    search_fields = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(item_count=Count("items"))

    @admin.display(ordering="item_count", description="items")
    def item_count(self, obj: Genre) -> int:
        return obj.item_count


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ("title", "year", "external_id", "genre_names", "created_at")
    list_filter = ("genres",)
    search_fields = ("title", "external_id")
    filter_horizontal = ("genres",)
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("genres")

    @admin.display(description="genres")
    def genre_names(self, obj: Item) -> str:
        return ", ".join(g.name for g in obj.genres.all())


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "user", "kind", "item", "value", "client_event_id")
    list_filter = ("kind", "occurred_at")
    date_hierarchy = "occurred_at"
    search_fields = ("user__username", "item__title", "client_event_id")
    autocomplete_fields = ("user", "item")
    list_select_related = ("user", "item")
    # Counting a million rows for every changelist page is slow on PostgreSQL.
    show_full_result_count = False


@admin.register(UserControl)
class UserControlAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user", "kind", "item")
    list_filter = ("kind",)
    search_fields = ("user__username", "item__title")
    autocomplete_fields = ("user", "item")
    list_select_related = ("user", "item")
