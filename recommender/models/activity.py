"""What people do: interaction events, their controls over what the model uses, their preferences."""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .catalogue import Genre, Item


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
