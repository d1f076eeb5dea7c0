"""Admin for the catalogue, interaction events and people's controls."""
from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from .models import Event, Genre, Item, ItemText, Tag, TextRun, UserControl
from .text.services import items_text_changed


@admin.register(Genre)
class GenreAdmin(admin.ModelAdmin):
    list_display = ("name", "item_count")
    search_fields = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(item_count=Count("items"))

    @admin.display(ordering="item_count", description="items")
    def item_count(self, obj: Genre) -> int:
        return obj.item_count


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)


class ItemTextInline(admin.StackedInline):
    """The text the encoder read for the item and which model made its vector."""

    model = ItemText
    fields = ("text", "model_name", "model_version", "dim", "computed_at", "stale")
    readonly_fields = fields
    can_delete = False
    extra = 0

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ("title", "year", "external_id", "genre_names", "created_at")
    list_filter = ("genres",)
    search_fields = ("title", "external_id")
    filter_horizontal = ("genres",)
    autocomplete_fields = ("tags",)
    date_hierarchy = "created_at"
    inlines = [ItemTextInline]
    actions = ["re_embed"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("genres")

    def save_related(self, request, form, formsets, change) -> None:
        # After the genres and tags are saved: the item's text may have changed.
        super().save_related(request, form, formsets, change)
        items_text_changed([form.instance.pk])

    @admin.action(description=_("Re-embed the selected items' texts"))
    def re_embed(self, request, queryset) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        items_text_changed(ids)
        self.message_user(request, _("%(n)d items queued for their text vectors.") % {"n": len(ids)})

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


# ---- the model pipeline ---------------------------------------------------------------

from django.contrib import messages  # noqa: E402
from django.core.exceptions import ValidationError  # noqa: E402
from django.http import HttpRequest, HttpResponseRedirect  # noqa: E402
from django.urls import path, reverse  # noqa: E402
from django.utils.html import format_html  # noqa: E402

from . import pipeline  # noqa: E402
from .models import ModelVersion, Recommendation, TrainingRun  # noqa: E402


def progress_html(fraction: float) -> str:
    """Return a progress bar with its percentage, for a share done from 0 to 1."""
    percent = round(fraction * 100)
    return format_html('<progress max="100" value="{}">{}%</progress> {}%', percent, percent, percent)


def _metric(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ("id", "status", "progress_bar", "epoch", "loss_shown", "val_ndcg_shown",
                    "elapsed_shown", "eta_shown", "model_version", "created_at", "error_short")
    list_filter = ("status",)
    readonly_fields = [f.name for f in TrainingRun._meta.fields] + ["progress_bar"]
    change_list_template = "admin/recommender/trainingrun/change_list.html"
    change_form_template = "admin/recommender/trainingrun/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=_("progress"))
    def progress_bar(self, obj: TrainingRun) -> str:
        return progress_html(obj.progress)

    @admin.display(description=_("loss"))
    def loss_shown(self, obj: TrainingRun) -> str:
        return _metric(obj.loss)

    @admin.display(description=_("val NDCG@10"))
    def val_ndcg_shown(self, obj: TrainingRun) -> str:
        return _metric(obj.val_ndcg)

    @admin.display(description=_("elapsed"))
    def elapsed_shown(self, obj: TrainingRun) -> str:
        return f"{obj.elapsed_s:.0f} s"

    @admin.display(description=_("time left (at most)"))
    def eta_shown(self, obj: TrainingRun) -> str:
        # An upper bound: it assumes every remaining epoch runs, and early stopping
        # usually ends a run well before its epoch cap.
        if obj.eta_s is None or obj.is_finished:
            return "—"
        minutes, seconds = divmod(int(obj.eta_s), 60)
        return f"≤ {minutes} min {seconds:02d} s" if minutes else f"≤ {seconds} s"

    @admin.display(description=_("error"))
    def error_short(self, obj: TrainingRun) -> str:
        return obj.error[:120]

    def get_urls(self):
        return [
            path("train-now/", self.admin_site.admin_view(self.train_now_view),
                 name="recommender_trainingrun_train_now"),
            *super().get_urls(),
        ]

    def train_now_view(self, request: HttpRequest) -> HttpResponseRedirect:
        """Start a training run (POST only) and go back to the list."""
        target = reverse("admin:recommender_trainingrun_changelist")
        if request.method != "POST" or not request.user.has_perm("recommender.add_trainingrun"):
            messages.error(request, _("Starting a training run needs a POST by staff allowed to add runs."))
            return HttpResponseRedirect(target)
        try:
            run = pipeline.training_run_start(requested_by=request.user, only_when_idle=True)
        except pipeline.TrainingBusy as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(target)
        messages.success(request, _("Training run %(id)s is queued.") % {"id": run.pk})
        return HttpResponseRedirect(target)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "refresh": pipeline.training_busy()}
        return super().changelist_view(request, extra_context)


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("__str__", "is_active", "val_ndcg_shown", "n_users", "n_items", "n_events",
                    "created_at", "activated_at")
    list_filter = ("is_active",)
    readonly_fields = [f.name for f in ModelVersion._meta.fields]
    actions = ["activate", "roll_back"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("val NDCG@10"))
    def val_ndcg_shown(self, obj: ModelVersion) -> str:
        return _metric(obj.val_ndcg)

    @admin.action(description=_("Activate the selected version"), permissions=["change"])
    def activate(self, request: HttpRequest, queryset) -> None:
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one version to activate."), messages.ERROR)
            return
        try:
            version = pipeline.model_version_activate(version=queryset.get())
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        self.message_user(request, _("%(v)s is active; everyone is being rescored.") % {"v": version})

    @admin.action(description=_("Roll back to the previously active version"), permissions=["change"])
    def roll_back(self, request: HttpRequest, queryset) -> None:
        try:
            version = pipeline.model_version_rollback()
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        self.message_user(request, _("Rolled back: %(v)s is active again.") % {"v": version})


@admin.register(Recommendation)
class RecommendationAdmin(admin.ModelAdmin):
    list_display = ("user", "rank", "item", "score", "model_version", "computed_at")
    list_select_related = ("user", "item", "model_version")
    search_fields = ("user__username",)
    raw_id_fields = ("user", "item")
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(TextRun)
class TextRunAdmin(admin.ModelAdmin):
    """Passes of the text encoder over the catalogue, with their progress."""

    list_display = ("id", "status", "progress_bar", "done", "total", "embedded", "reason", "model_version",
                    "created_at", "finished_at")
    list_filter = ("status",)
    readonly_fields = [f.name for f in TextRun._meta.fields] + ["progress_bar"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=_("progress"))
    def progress_bar(self, obj: TextRun) -> str:
        return progress_html(obj.progress)
