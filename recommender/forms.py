"""Forms that parse what the site's pages post or put in the query string."""
from django import forms
from django.utils.translation import gettext_lazy as _

from .models import ControlKind, FeedKind, GenreControlKind

RATING_CHOICES = [(n, str(n)) for n in range(1, 6)]


class CatalogueFilterForm(forms.Form):
    """The catalogue's search box and genre filter; both optional."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    search = forms.CharField(required=False, max_length=100)  # ?search=, as the API names it
    genre = forms.CharField(label=_("Genre"), required=False, max_length=64)

    def filters(self) -> dict[str, str]:
        """Return the cleaned `search` and `genre` values, empty when invalid."""
        if not self.is_valid():
            return {"search": "", "genre": ""}
        search = self.cleaned_data["q"].strip() or self.cleaned_data["search"].strip()
        return {"search": search, "genre": self.cleaned_data["genre"]}


class RatingForm(forms.Form):
    """A rating of one to five stars."""

    value = forms.TypedChoiceField(label=_("Your rating"), choices=RATING_CHOICES, coerce=int)


class ControlToggleForm(forms.Form):
    """Turn one of the person's controls on or off for one item."""

    item = forms.IntegerField(min_value=1)
    control = forms.ChoiceField(choices=ControlKind.choices)
    on = forms.TypedChoiceField(choices=[("1", "on"), ("0", "off")], coerce=lambda v: v == "1")


class FeedForm(forms.Form):
    """Which list the home page shows: the person's recommendations, popular or newest."""

    feed = forms.ChoiceField(choices=FeedKind.choices)


class ViewRecordingForm(forms.Form):
    """Record the person's item page views, or not."""

    on = forms.TypedChoiceField(choices=[("1", "on"), ("0", "off")], coerce=lambda v: v == "1")


class GenreControlForm(forms.Form):
    """Less of a genre, never a genre, or neither (`off`)."""

    OFF = "off"

    genre = forms.IntegerField(min_value=1)
    control = forms.ChoiceField(choices=[*GenreControlKind.choices, (OFF, "off")])
