"""Small template helpers: query strings for pagination and the current page in the nav."""
from django import template
from django.http import HttpRequest

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
