"""Site pages of the recommender: home, catalogue, item page and the person's history."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import selectors, services
from .forms import CatalogueFilterForm, ControlToggleForm, RatingForm
from .models import ControlKind, Event, EventKind, Item
from .services import EventInput
from .text.selectors import item_similar

CATALOGUE_PAGE_SIZE = 24
HISTORY_PAGE_SIZE = 25
SIMILAR_ON_PAGE = 6


def _redirect_back(request: HttpRequest, default: str, *args: object) -> HttpResponse:
    """Redirect to the posted `next` URL when it is on this site, else to `default`."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(default, *args)


def home(request: HttpRequest) -> HttpResponse:
    """Show the person's recommendations and popular items; ask a newcomer to rate a few."""
    user = request.user if request.user.is_authenticated else None
    has_history = user is not None and selectors.event_list_for_user(user=user).exists()
    recommendations = selectors.recommendation_list_for_user(user=user, k=12) if has_history else []
    context = {
        "popular": selectors.item_popular(user=user),
        "has_history": has_history,
        "recommendations": recommendations,
    }
    return render(request, "recommender/home.html", context)


def item_list(request: HttpRequest) -> HttpResponse:
    """Show the catalogue, filtered by `?q=` and `?genre=`, a page at a time."""
    form = CatalogueFilterForm(request.GET)
    filters = form.filters()
    page = Paginator(selectors.item_list(**filters), CATALOGUE_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "form": form,
        "filters": filters,
        "genres": selectors.genre_list(),
        "page_obj": page,
    }
    return render(request, "recommender/item_list.html", context)


def item_detail(request: HttpRequest, item_id: int) -> HttpResponse:
    """Show one item; for a logged-in person, record the visit and show their controls."""
    item = get_object_or_404(Item.objects.prefetch_related("genres"), pk=item_id)
    state = None
    if request.user.is_authenticated:
        services.event_record_view(user=request.user, item=item)
        state = selectors.item_state_for_user(user=request.user, item=item)
    context = {"item": item, "state": state, "ratings": range(1, 6),
               "similar": item_similar(item_id=item.pk, k=SIMILAR_ON_PAGE)}
    return render(request, "recommender/item_detail.html", context)


@require_POST
@login_required
def item_rate(request: HttpRequest, item_id: int) -> HttpResponse:
    """Store a rating of one to five stars."""
    item = get_object_or_404(Item, pk=item_id)
    form = RatingForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a rating from 1 to 5 stars."))
        return redirect("item_detail", item.pk)
    value = form.cleaned_data["value"]
    services.event_record(user=request.user, data=EventInput(item=item, kind=EventKind.RATE, value=value))
    messages.success(
        request, _("You rated “%(title)s” %(value)s out of 5.") % {"title": item.title, "value": value}
    )
    return redirect("item_detail", item.pk)


@require_POST
@login_required
def item_like(request: HttpRequest, item_id: int) -> HttpResponse:
    """Like the item, or withdraw the like when `undo` is posted."""
    item = get_object_or_404(Item, pk=item_id)
    if request.POST.get("undo"):
        services.event_like_withdraw(user=request.user, item=item)
        messages.success(request, _("You no longer like “%(title)s”.") % {"title": item.title})
    else:
        services.event_record(user=request.user, data=EventInput(item=item, kind=EventKind.LIKE))
        messages.success(request, _("You like “%(title)s”.") % {"title": item.title})
    return redirect("item_detail", item.pk)


@require_POST
@login_required
def item_not_interested(request: HttpRequest, item_id: int) -> HttpResponse:
    """Mark the item as not interesting (never recommended again), or undo that."""
    item = get_object_or_404(Item, pk=item_id)
    if request.POST.get("undo"):
        services.control_remove(user=request.user, item=item, kind=ControlKind.NOT_INTERESTED)
        messages.success(request, _("“%(title)s” may be recommended again.") % {"title": item.title})
    else:
        services.event_record(
            user=request.user, data=EventInput(item=item, kind=EventKind.NOT_INTERESTED)
        )
        messages.success(
            request, _("“%(title)s” will not be recommended to you again.") % {"title": item.title}
        )
    return _redirect_back(request, "item_detail", item.pk)


@login_required
def history(request: HttpRequest) -> HttpResponse:
    """Show the person's events, newest first, with their controls per item."""
    page = Paginator(selectors.event_list_for_user(user=request.user), HISTORY_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    controls = selectors.control_kinds_by_item(
        user=request.user, item_ids=[event.item_id for event in page]
    )
    # Controls belong to the item, not the event: offer them on its newest row only.
    seen: set[int] = set()
    rows = []
    for event in page:
        rows.append({"event": event, "controls": controls.get(event.item_id, set()),
                     "show_controls": event.item_id not in seen})
        seen.add(event.item_id)
    context = {"page_obj": page, "rows": rows, "control_choices": ControlKind.choices}
    return render(request, "recommender/history.html", context)


@require_POST
@login_required
def control_toggle(request: HttpRequest) -> HttpResponse:
    """Turn a control (`exclude` or `not_interested`) on or off for one item."""
    form = ControlToggleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("That control does not exist; nothing was changed."))
        return _redirect_back(request, "history")
    item = get_object_or_404(Item, pk=form.cleaned_data["item"])
    kind = form.cleaned_data["control"]
    label = ControlKind(kind).label
    if form.cleaned_data["on"]:
        services.control_set(user=request.user, item=item, kind=kind)
        messages.success(request, _("“%(title)s”: %(control)s — on.") % {"title": item.title, "control": label})
    else:
        services.control_remove(user=request.user, item=item, kind=kind)
        messages.success(request, _("“%(title)s”: %(control)s — off.") % {"title": item.title, "control": label})
    return _redirect_back(request, "history")


@require_POST
@login_required
def event_delete(request: HttpRequest, event_id: int) -> HttpResponse:
    """Delete one of the person's events; anyone else's answers 404."""
    try:
        services.event_delete(user=request.user, event_id=event_id)
    except Event.DoesNotExist:
        raise Http404(_("No such event.")) from None
    messages.success(request, _("The event was deleted from your history."))
    return _redirect_back(request, "history")
