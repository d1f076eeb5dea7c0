"""The "why this?" page of each of a person's recommendations."""
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from recommender.ml import signals as sig
from recommender.models import Item, Recommendation
from recsite.accounts.models import User

from . import presentation, selectors, services
from .models import Explanation


def explanation_page(request: HttpRequest, *, user: User, item_id: int, template: str,
                     extra: dict | None = None) -> HttpResponse:
    """Render a person's explanation, or the "being prepared" page after queueing it."""
    # staff reading someone else's explanation read it in the third person ("they rated")
    third_person = bool((extra or {}).get("staff_view")) and user.pk != request.user.pk
    try:
        view = selectors.explanation_view(user=user, item_id=item_id, third_person=third_person)
        status = "ready" if view is not None else services.explanation_request(user=user, item_id=item_id)
        if view is None and status == "ready":  # finished between the two reads
            view = selectors.explanation_view(user=user, item_id=item_id, third_person=third_person)
    except Recommendation.DoesNotExist:
        if (extra or {}).get("staff_view"):
            raise Http404(_("This is not one of this person's current recommendations.")) from None
        # the person's own link, usually from a list shown before a refresh: say so, and
        # point at the current list. The film is named (with a link to its page) only where
        # it was on one of their lists (a record of theirs remains): any other item reads
        # the same as an unknown id, so nothing about anyone else's list leaks
        was_listed = Explanation.objects.filter(user=user, item_id=item_id).exists()
        return render(request, "explain/not_current.html",
                      {"item": Item.objects.filter(pk=item_id).first() if was_listed else None}, status=404)
    context = {"person": user, "status": status, "view": view, "third_person": third_person, **(extra or {})}
    if view is not None:
        rows = view.weight_rows(limit=presentation.TABLE_ROWS, by="effect")
        context.update({
            "heatmap": view.heatmap_json(), "heads": view.heads_json(), "graph": view.graph_json(),
            "weight_rows": rows, "head_rows": view.head_summaries(),
            # a film the person chose that lowers this one reads as a contradiction: say why
            "chosen_lowered": any(r["direction"] == "lowered" and r["signal"] in sig.POSITIVE for r in rows),
            "attention_rows": view.heaviest_rows(presentation.HEATMAP_COLUMNS),
        })
    else:
        context["item"] = Item.objects.get(pk=item_id)
    return render(request, template, context)


@login_required
def why(request: HttpRequest, item_id: int) -> HttpResponse:
    """Show why this item is among my recommendations; anyone else's answers 404."""
    return explanation_page(request, user=request.user, item_id=item_id, template="explain/why.html")
