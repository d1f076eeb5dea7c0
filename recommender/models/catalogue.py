"""The catalogue: items, their genres and tags."""
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..catalogue.titles import reading_order


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
