"""Small template helpers: query strings for pagination, the current page in the nav,
genre names in the active language, durations and times ago in words."""
from datetime import datetime

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from recommender.training.durations import duration_text
from recommender.catalogue.genres import genre_label

register = template.Library()


@register.simple_tag(takes_context=True)
def query_replace(context: template.Context, **changes: object) -> str:
    """Return the current query string with `changes` applied (a None value drops a key)."""
    request: HttpRequest = context["request"]
    query = request.GET.copy()
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = str(value)
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.simple_tag(takes_context=True)
def nav_current(context: template.Context, url_name: str) -> str:
    """Return 'page' when the request was routed to `url_name`, for aria-current."""
    match = getattr(context.get("request"), "resolver_match", None)
    return "page" if match is not None and match.url_name == url_name else "false"


@register.filter
def genre_name(name: str) -> str:
    """Return a genre's name in the active language (see recommender/catalogue/genres.py)."""
    return genre_label(name)


@register.filter
def duration(seconds: float | None) -> str:
    """Return a number of seconds in words ("4 min 05 s"); empty for None."""
    return "" if seconds is None else duration_text(seconds)


@register.filter
def ago(when: datetime | None) -> str:
    """Return how long ago ``when`` was in words: "just now" within a minute, else "3 minutes
    ago" (Django's naturaltime); empty for None."""
    if when is None:
        return ""
    return _("just now") if (timezone.now() - when).total_seconds() < 60 else str(naturaltime(when))


@register.filter
def get_item(mapping: dict, key: object) -> object:
    """Return mapping[key], or None when it is missing."""
    return mapping.get(key) if hasattr(mapping, "get") else None
