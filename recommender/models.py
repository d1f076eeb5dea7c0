"""Catalogue, interaction events and the person's controls over what the model uses."""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .titles import reading_order


class Genre(models.Model):
    """A genre that items carry (a fixed vocabulary such as MovieLens's twenty)."""

    name = models.CharField(_("name"), max_length=64, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("genre")
        verbose_name_plural = _("genres")

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    """A free-text label that people gave items (MovieLens latest's tags.csv)."""

    name = models.CharField(_("name"), max_length=64, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class Item(models.Model):
    """One thing that can be recommended, such as a film."""

    external_id = models.CharField(_("external id"), max_length=64, unique=True)
    title = models.CharField(_("title"), max_length=255)
    year = models.PositiveSmallIntegerField(_("year"), null=True, blank=True)
    genres = models.ManyToManyField(Genre, related_name="items", blank=True, verbose_name=_("genres"))
    tags = models.ManyToManyField(Tag, related_name="items", blank=True, verbose_name=_("tags"))
    # What the catalogue says about the item beyond its title: a description, and any
    # extra columns of an items CSV. Part of the text the encoder reads.
    description = models.TextField(_("description"), blank=True, default="")
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # Bumped by every save (bulk_create included, not queryset.update()): search's
    # in-process index rebuilds when it moves (recommender/text/selectors.py).
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_index=True)

    class Meta:
        ordering = ["title", "id"]
        verbose_name = _("item")
        verbose_name_plural = _("items")
        indexes = [models.Index(fields=["title"])]

    def __str__(self) -> str:
        return f"{self.display_title} ({self.year})" if self.year else self.display_title

    @property
    def display_title(self) -> str:
        """The title in reading order ("The Usual Suspects" for "Usual Suspects, The")."""
        return reading_order(self.title)


class EventKind(models.TextChoices):
    VIEW = "view", _("viewed")
    CLICK = "click", _("clicked")
    LIKE = "like", _("liked")
    RATE = "rate", _("rated")
    PURCHASE = "purchase", _("purchased")
    NOT_INTERESTED = "not_interested", _("not interested")


class Event(models.Model):
    """One interaction of a person with an item, as it happened."""

    # No single-column indexes: the composite indexes below lead with these columns, and
    # every extra index is one more write per event (imports write a million).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="events", db_index=False)
    kind = models.CharField(_("kind"), max_length=16, choices=EventKind.choices)
    value = models.FloatField(_("value"), null=True, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"), default=timezone.now)
    # A client-chosen id: re-sending the same event is a no-op (unique per user).
    client_event_id = models.CharField(_("client event id"), max_length=64, null=True, blank=True)
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("event")
        verbose_name_plural = _("events")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "client_event_id"],
                condition=Q(client_event_id__isnull=False),
                name="event_unique_client_id_per_user",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=EventKind.values), name="event_kind_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["user", "occurred_at", "id"], name="event_user_time"),
            models.Index(fields=["item", "occurred_at"], name="event_item_time"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.item_id}"


class ControlKind(models.TextChoices):
    EXCLUDE = "exclude", _("Don't use for my recommendations")
    NOT_INTERESTED = "not_interested", _("Not interested")


class UserControl(models.Model):
    """A person's instruction about one item.

    `exclude` keeps the item in their history but out of the model's input;
    `not_interested` means it is never recommended to them again.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="controls"
    )
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="controls")
    kind = models.CharField(_("control"), max_length=16, choices=ControlKind.choices)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("control")
        verbose_name_plural = _("controls")
        constraints = [
            models.UniqueConstraint(fields=["user", "item", "kind"], name="control_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.item_id}"


class GenreControlKind(models.TextChoices):
    LESS = "less", _("Less of this genre")
    EXCLUDE = "exclude", _("Never this genre")


class GenreControl(models.Model):
    """A person's instruction about one genre.

    `less` lets at most one in every GENRE_LESS_EVERY recommendations be of the genre;
    `exclude` means no item of the genre is recommended to them.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="genre_controls"
    )
    genre = models.ForeignKey(Genre, on_delete=models.CASCADE, related_name="controls",
                              verbose_name=_("genre"))
    kind = models.CharField(_("control"), max_length=16, choices=GenreControlKind.choices)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("genre control")
        verbose_name_plural = _("genre controls")
        constraints = [
            models.UniqueConstraint(fields=["user", "genre"], name="genre_control_unique"),
            models.CheckConstraint(
                condition=Q(kind__in=GenreControlKind.values), name="genre_control_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.genre_id}"


class FeedKind(models.TextChoices):
    PERSONAL = "personal", _("For you")
    POPULAR = "popular", _("Popular")
    NEWEST = "newest", _("Newest")


class Preferences(models.Model):
    """How a person wants their recommendations made (defaults when no row exists).

    `feed`: their own recommendations, or a list not based on their profile (popular or
    newest). `record_views`: whether opening an item page is recorded as a view.
    `reset_at`: events before it no longer reach the model ("reset my recommendations");
    `reset_undo_to` is what `reset_at` was before the last reset, for its undo.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                primary_key=True, related_name="preferences")
    feed = models.CharField(_("feed"), max_length=16, choices=FeedKind.choices, default=FeedKind.PERSONAL)
    record_views = models.BooleanField(_("record page views"), default=True)
    reset_at = models.DateTimeField(_("recommendations reset at"), null=True, blank=True)
    reset_undo_to = models.DateTimeField(_("reset before that"), null=True, blank=True)
    can_undo_reset = models.BooleanField(_("reset can be undone"), default=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("preferences")
        verbose_name_plural = _("preferences")
        constraints = [
            models.CheckConstraint(condition=Q(feed__in=FeedKind.values), name="preferences_feed_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.feed}"


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    SUCCEEDED = "succeeded", _("succeeded")
    FAILED = "failed", _("failed")
    REJECTED = "rejected", _("rejected")


class ModelVersion(models.Model):
    """A trained model artifact; exactly one is active at a time."""

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    artifact_path = models.CharField(_("artifact path"), max_length=500)
    checksum = models.CharField(_("sha256"), max_length=64)
    config = models.JSONField(_("configuration"), default=dict)
    metrics = models.JSONField(_("metrics"), default=dict)
    # The data snapshot it was trained on: events with id <= watermark.
    event_watermark = models.BigIntegerField(_("event watermark"), default=0)
    n_users = models.PositiveIntegerField(_("people"), default=0)
    n_items = models.PositiveIntegerField(_("items"), default=0)
    n_events = models.PositiveIntegerField(_("events"), default=0)
    is_active = models.BooleanField(_("active"), default=False)
    activated_at = models.DateTimeField(_("activated"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        get_latest_by = "created_at"
        verbose_name = _("model version")
        verbose_name_plural = _("model versions")
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="one_active_model_version"
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.pk}" + (" (active)" if self.is_active else "")

    @property
    def val_ndcg(self) -> float | None:
        return self.metrics.get("val_ndcg@10")


class TrainingRun(models.Model):
    """One training of the model, in resumable chunks of epochs."""

    status = models.CharField(_("status"), max_length=16, choices=RunStatus.choices,
                              default=RunStatus.QUEUED, db_index=True)
    hyperparams = models.JSONField(_("hyper-parameters"), default=dict, blank=True)
    progress = models.FloatField(_("progress"), default=0.0)
    epoch = models.PositiveIntegerField(_("epoch"), default=0)
    max_epochs = models.PositiveIntegerField(_("max epochs"), default=0)
    loss = models.FloatField(_("loss"), null=True, blank=True)
    val_ndcg = models.FloatField(_("validation NDCG@10"), null=True, blank=True)
    elapsed_s = models.FloatField(_("elapsed seconds"), default=0.0)
    eta_s = models.FloatField(_("estimated seconds left"), null=True, blank=True)
    # Epochs the run now plans (its time budget, shortened by a validation plateau); None
    # when it has no such plan, and eta_s is then a bound from max_epochs.
    horizon = models.FloatField(_("planned epochs"), null=True, blank=True)
    history = models.JSONField(_("history"), default=list, blank=True)
    metrics = models.JSONField(_("metrics"), default=dict, blank=True)
    event_watermark = models.BigIntegerField(_("event watermark"), null=True, blank=True)
    checkpoint_path = models.CharField(_("checkpoint"), max_length=500, blank=True)
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveIntegerField(_("chunks started"), default=0)
    # A database lease: the task holding it is the only one training this run.
    lease_owner = models.CharField(_("lease owner"), max_length=255, blank=True)
    lease_expires_at = models.DateTimeField(_("lease expires"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("heartbeat"), null=True, blank=True)
    model_version = models.OneToOneField(ModelVersion, null=True, blank=True,
                                         on_delete=models.SET_NULL, related_name="training_run")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("training run")
        verbose_name_plural = _("training runs")

    def __str__(self) -> str:
        return f"run {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.REJECTED)


class Recommendation(models.Model):
    """One entry of a person's current top-N list from one model version."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="recommendations")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    rank = models.PositiveSmallIntegerField(_("rank"))
    score = models.FloatField(_("score"))
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="+")
    computed_at = models.DateTimeField(_("computed"))

    class Meta:
        ordering = ["user", "rank"]
        verbose_name = _("recommendation")
        verbose_name_plural = _("recommendations")
        constraints = [
            models.UniqueConstraint(fields=["user", "rank"], name="recommendation_unique_rank"),
            models.UniqueConstraint(fields=["user", "item"], name="recommendation_unique_item"),
        ]


class ScoringState(models.Model):
    """Whether a person's stored list is stale, and what it was computed from.

    The database is the source of truth for pending work: recording an event or changing
    a control sets `stale_since` in the same transaction, so a lost queue notification
    only delays the refresh until the periodic sweep finds the row.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                primary_key=True, related_name="scoring_state")
    stale_since = models.DateTimeField(null=True, blank=True, db_index=True)
    event_watermark = models.BigIntegerField(default=0)  # largest event id reflected
    model_version = models.ForeignKey(ModelVersion, null=True, blank=True,
                                      on_delete=models.SET_NULL, related_name="+")
    scored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("scoring state")
        verbose_name_plural = _("scoring states")


class ItemText(models.Model):
    """The text the encoder read for one item, and the vector it made of it.

    `stale` is set whenever the item (or what its text is made of) changes; a text run
    clears it after re-reading the item. A row of another model than the current encoder
    is stale too (recommender/text/services.py), so a model change re-embeds everything.
    """

    item = models.OneToOneField(Item, on_delete=models.CASCADE, primary_key=True,
                                related_name="text_vector", verbose_name=_("item"))
    text = models.TextField(_("text"))
    text_hash = models.CharField(_("text sha256"), max_length=64)
    model_name = models.CharField(_("model"), max_length=64)
    model_version = models.CharField(_("model version"), max_length=64)
    dim = models.PositiveSmallIntegerField(_("dimensions"))
    # float32, little-endian, L2-normalised: 2 KB for 512 dimensions. PostgreSQL's
    # pgvector is not packaged for this server (docs/benchmarks.md), and search keeps the
    # vectors in memory anyway, so one portable column serves SQLite and PostgreSQL.
    vector = models.BinaryField(_("vector"))
    computed_at = models.DateTimeField(_("computed"), default=timezone.now)
    stale = models.BooleanField(_("stale"), default=False)

    class Meta:
        verbose_name = _("item text vector")
        verbose_name_plural = _("item text vectors")
        indexes = [
            models.Index(fields=["model_name", "model_version", "computed_at"], name="itemtext_model_time"),
            models.Index(fields=["stale"], name="itemtext_stale", condition=Q(stale=True)),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} {self.model_name} {self.model_version}"


class TextRun(models.Model):
    """One pass of the encoder over the items whose text vectors are missing or stale.

    Runs in chunks of items by id: `cursor` is the last item id done, so a chunk delivered
    twice, or resumed by the sweep after its worker died, neither repeats nor skips work.
    """

    status = models.CharField(_("status"), max_length=16, choices=RunStatus.choices,
                              default=RunStatus.QUEUED, db_index=True)
    reason = models.CharField(_("reason"), max_length=64, blank=True)
    model_name = models.CharField(_("model"), max_length=64)
    model_version = models.CharField(_("model version"), max_length=64)
    total = models.PositiveIntegerField(_("items to do"), default=0)
    done = models.PositiveIntegerField(_("items done"), default=0)
    embedded = models.PositiveIntegerField(_("items embedded"), default=0)
    cursor = models.BigIntegerField(_("last item id done"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    heartbeat_at = models.DateTimeField(_("heartbeat"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("text run")
        verbose_name_plural = _("text runs")
        constraints = [
            # One run at a time: two would race over the same stale items.
            models.UniqueConstraint(fields=["model_name"], condition=Q(status__in=["queued", "running"]),
                                    name="one_open_text_run"),
        ]

    def __str__(self) -> str:
        return f"text run {self.pk} ({self.status})"

    @property
    def progress(self) -> float:
        """Return the share of the run's items done, 0 to 1."""
        return 1.0 if not self.total else min(1.0, self.done / self.total)
