"""Catalogue, interaction events and the person's controls over what the model uses."""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Genre(models.Model):
    """A genre or tag that items carry."""

    name = models.CharField(_("name"), max_length=64, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("genre")
        verbose_name_plural = _("genres")

    def __str__(self) -> str:
        return self.name


class Item(models.Model):
    """One thing that can be recommended, such as a film."""

    external_id = models.CharField(_("external id"), max_length=64, unique=True)
    title = models.CharField(_("title"), max_length=255)
    year = models.PositiveSmallIntegerField(_("year"), null=True, blank=True)
    genres = models.ManyToManyField(Genre, related_name="items", blank=True, verbose_name=_("genres"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["title", "id"]
        verbose_name = _("item")
        verbose_name_plural = _("items")
        indexes = [models.Index(fields=["title"])]

    def __str__(self) -> str:
        return f"{self.title} ({self.year})" if self.year else self.title


class EventKind(models.TextChoices):
    VIEW = "view", _("viewed")
    CLICK = "click", _("clicked")
    LIKE = "like", _("liked")
    RATE = "rate", _("rated")
    PURCHASE = "purchase", _("purchased")
    NOT_INTERESTED = "not_interested", _("not interested")


class Event(models.Model):
    """One interaction of a person with an item, as it happened."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="events"
    )
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="events")
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
