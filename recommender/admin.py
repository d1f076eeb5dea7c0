"""Admin for the catalogue, interaction events and people's controls."""
from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from .models import Event, Genre, GenreControl, Item, ItemText, Preferences, Tag, TextRun, UserControl
from .text.services import items_text_changed


@admin.register(Genre)
class GenreAdmin(admin.ModelAdmin):
    list_display = ("name", "item_count")
    search_fields = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(item_count=Count("items"))

    @admin.display(ordering="item_count", description=_("items"))
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

    @admin.display(description=_("genres"))
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


@admin.register(GenreControl)
class GenreControlAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user", "kind", "genre")
    list_filter = ("kind",)
    search_fields = ("user__username", "genre__name")
    autocomplete_fields = ("user", "genre")
    list_select_related = ("user", "genre")


@admin.register(Preferences)
class PreferencesAdmin(admin.ModelAdmin):
    list_display = ("user", "feed", "record_views", "reset_at", "updated_at")
    list_filter = ("feed", "record_views")
    search_fields = ("user__username",)
    autocomplete_fields = ("user",)
    list_select_related = ("user",)


# ---- the model pipeline ---------------------------------------------------------------

from django.contrib import messages  # noqa: E402
from django.core.exceptions import ValidationError  # noqa: E402
from django.http import HttpRequest, HttpResponseRedirect  # noqa: E402
from django.urls import path, reverse  # noqa: E402
from django.utils.html import format_html, format_html_join  # noqa: E402

from .training import runs, versions  # noqa: E402
from .training.durations import duration_text, estimate_text  # noqa: E402
from .models import ModelVersion, Recommendation, TrainingRun  # noqa: E402


def progress_html(fraction: float) -> str:
    """Return a progress bar with its percentage, for a share done from 0 to 1."""
    percent = round(fraction * 100)
    return format_html('<progress max="100" value="{}">{}%</progress> {}%', percent, percent, percent)


def _metric(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def _cell(value: object) -> str:
    """Return a value for a facts table: floats rounded (4 decimals, or 4 significant digits
    when very small or large), nested objects as tables of their own."""
    if value and (isinstance(value, dict) or (isinstance(value, list) and all(isinstance(v, dict) for v in value))):
        return json_table(value)
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value)
    if isinstance(value, float):
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.4g}"
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def json_table(data: dict | list, columns: list[str] | None = None) -> str:
    """Return a JSON field (an object, or a list of objects) as an HTML table with rounded
    numbers, for the admin's read-only pages."""
    if isinstance(data, dict):
        if not data:
            return "—"
        rows = format_html_join("", "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
                                ((name, _cell(value)) for name, value in data.items()))
        return format_html('<table class="recsite-facts">{}</table>', rows)
    if not data:
        return "—"
    columns = columns or list(dict.fromkeys(key for row in data for key in row))
    head = format_html_join("", "<th scope=\"col\">{}</th>", ((c,) for c in columns))
    body = format_html_join("", "<tr>{}</tr>", ((format_html_join("", "<td>{}</td>", ((_cell(row.get(c)),) for c in columns)),)
                                               for row in data))
    return format_html('<table class="recsite-facts"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>', head, body)


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    # Few enough columns, and no filter sidebar, for the list to fit beside the admin's
    # navigation in a 1280 px window (the status column sorts; the detail page has the rest).
    list_display = ("id", "status", "progress_bar", "val_ndcg_shown", "loss_shown", "elapsed_shown",
                    "eta_shown", "model_version", "error_short")
    # The JSON fields are shown as tables (hyperparams_table...), not as raw JSON.
    readonly_fields = [f.name for f in TrainingRun._meta.fields if f.name not in ("hyperparams", "history", "metrics")] + [
        "progress_bar", "eta_shown", "loss_shown", "val_ndcg_shown", "elapsed_shown", "hyperparams_table",
        "metrics_table", "history_table"]
    fieldsets = [
        (None, {"fields": ["status", "progress_bar", "epoch", "max_epochs", "horizon", "eta_shown", "loss_shown",
                           "val_ndcg_shown", "elapsed_shown", "error", "model_version"]}),
        (_("Configuration and results"), {"fields": ["hyperparams_table", "metrics_table", "history_table"]}),
        (_("Bookkeeping"), {"fields": ["event_watermark", "checkpoint_path", "attempts", "lease_owner",
                                       "lease_expires_at", "heartbeat_at", "requested_by",
                                       "created_at", "started_at", "finished_at"]}),
    ]
    change_list_template = "admin/recommender/trainingrun/change_list.html"
    change_form_template = "admin/recommender/trainingrun/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=_("progress"))
    def progress_bar(self, obj: TrainingRun) -> str:
        planned = round(obj.horizon) if obj.horizon else obj.max_epochs
        return format_html('{} <span class="recsite-epochs">{}</span>', progress_html(obj.progress),
                           _("epoch %(epoch)d of %(planned)s") % {
                               "epoch": obj.epoch, "planned": planned if obj.horizon else f"≤ {planned}"})

    @admin.display(description=_("loss"))
    def loss_shown(self, obj: TrainingRun) -> str:
        return _metric(obj.loss)

    @admin.display(description=_("val NDCG@10"))
    def val_ndcg_shown(self, obj: TrainingRun) -> str:
        return _metric(obj.val_ndcg)

    @admin.display(description=_("elapsed"))
    def elapsed_shown(self, obj: TrainingRun) -> str:
        return duration_text(obj.elapsed_s)

    @admin.display(description=_("time left"))
    def eta_shown(self, obj: TrainingRun) -> str:
        # From the run's horizon (its time budget, shortened by a plateau) when it has one:
        # an estimate. Otherwise from max_epochs, which early stopping usually cuts short:
        # a bound.
        if obj.eta_s is None or obj.is_finished:
            return "—"
        return estimate_text(obj.eta_s, bound=obj.horizon is None)

    @admin.display(description=_("error"))
    def error_short(self, obj: TrainingRun) -> str:
        if len(obj.error) <= 40:
            return obj.error
        return format_html('<span title="{}">{}…</span>', obj.error[:2000], obj.error[:40])

    @admin.display(description=_("hyper-parameters"))
    def hyperparams_table(self, obj: TrainingRun) -> str:
        return json_table(obj.hyperparams)

    @admin.display(description=_("metrics"))
    def metrics_table(self, obj: TrainingRun) -> str:
        return json_table(obj.metrics)

    @admin.display(description=_("history"))
    def history_table(self, obj: TrainingRun) -> str:
        return json_table(obj.history)

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
            run = runs.training_run_start(requested_by=request.user, only_when_idle=True)
        except runs.TrainingBusy as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(target)
        messages.success(request, _("Training run %(id)s is queued.") % {"id": run.pk})
        return HttpResponseRedirect(target)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "refresh": runs.training_busy()}
        return super().changelist_view(request, extra_context)


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    # No filter sidebar (one version is active; the column says which), so the list fits a
    # 1280 px window beside the admin's navigation.
    list_display = ("__str__", "is_active", "val_ndcg_shown", "n_users", "n_items", "n_events",
                    "created_at", "activated_at")
    readonly_fields = [f.name for f in ModelVersion._meta.fields if f.name not in ("config", "metrics")] + [
        "metrics_table", "config_table"]
    actions = ["activate", "roll_back"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("metrics"))
    def metrics_table(self, obj: ModelVersion) -> str:
        return json_table(obj.metrics)

    @admin.display(description=_("configuration"))
    def config_table(self, obj: ModelVersion) -> str:
        return json_table(obj.config)

    @admin.display(description=_("val NDCG@10"))
    def val_ndcg_shown(self, obj: ModelVersion) -> str:
        return _metric(obj.val_ndcg)

    @admin.action(description=_("Activate the selected version"), permissions=["change"])
    def activate(self, request: HttpRequest, queryset) -> None:
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one version to activate."), messages.ERROR)
            return
        try:
            version = versions.model_version_activate(version=queryset.get())
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        self.message_user(request, _("%(v)s is active; everyone is being rescored.") % {"v": version})

    @admin.action(description=_("Roll back to the previously active version"), permissions=["change"])
    def roll_back(self, request: HttpRequest, queryset) -> None:
        try:
            version = versions.model_version_rollback()
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
