"""Site pages of the recommender: home, catalogue, item page, the person's history, their
recommendation settings and the page on how recommendations work."""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from . import feeds
from .activity import selectors as activity, services
from .activity.services import EventInput
from .catalogue import selectors as catalogue
from .catalogue.genres import genre_label
from .forms import (
    CatalogueFilterForm,
    ControlToggleForm,
    FeedForm,
    GenreControlForm,
    RatingForm,
    ViewRecordingForm,
)
from .models import ControlKind, Event, EventKind, FeedKind, Genre, GenreControlKind, Item
from .text.selectors import item_similar
from .training import versions

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
    """Show the person's list in the feed they chose (their recommendations, popular or
    newest) and popular items; say why a personal list is not there yet."""
    user = request.user if request.user.is_authenticated else None
    feed = feeds.home_feed(user=user) if user is not None else None
    context = {
        "feed": feed,
        "feed_choices": FeedKind.choices,
        # The popular feed already is this list.
        "popular": activity.item_popular(user=user) if feed is None or feed.feed != FeedKind.POPULAR else [],
    }
    return render(request, "recommender/home.html", context)


@require_GET
@never_cache
@login_required
def feed_status(request: HttpRequest) -> HttpResponse:
    """Return the home page's list section alone, for the page to refresh it in place."""
    context = {"feed": feeds.home_feed(user=request.user)}
    return render(request, "recommender/includes/feed_slot.html", context)


@require_POST
@login_required
def feed_choose(request: HttpRequest) -> HttpResponse:
    """Switch the person's home list to their recommendations, popular or newest items."""
    form = FeedForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("That list does not exist; nothing was changed."))
        return _redirect_back(request, "home")
    services.preferences_update(user=request.user, feed=form.cleaned_data["feed"])
    messages.success(request, _("Your home page now shows: %(feed)s.") % {
        "feed": FeedKind(form.cleaned_data["feed"]).label})
    return _redirect_back(request, "home")


def item_list(request: HttpRequest) -> HttpResponse:
    """Show the catalogue, filtered by `?q=` and `?genre=`, a page at a time."""
    form = CatalogueFilterForm(request.GET)
    filters = form.filters()
    page = Paginator(catalogue.item_list(**filters), CATALOGUE_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "form": form,
        "filters": filters,
        "genres": catalogue.genre_list(),
        "page_obj": page,
    }
    return render(request, "recommender/item_list.html", context)


def _opened_by_the_person(request: HttpRequest) -> bool:
    """Return True if the person opened this page themselves: a navigation from a page of
    this site, or one they typed or bookmarked (Sec-Fetch-Site `none`).

    A link on another site (`cross-site`, or `same-site` from another subdomain), a
    prefetch, or a request without Fetch Metadata (which every current browser sends on
    navigations) could be any third party steering what is recorded, so it records nothing.
    """
    headers = request.headers
    return (headers.get("Sec-Fetch-Site") in ("same-origin", "none")
            and headers.get("Sec-Fetch-Mode") == "navigate"
            and "prefetch" not in headers.get("Sec-Purpose", ""))


def item_detail(request: HttpRequest, item_id: int) -> HttpResponse:
    """Show one item; for a logged-in person, record the visit and show their controls."""
    item = get_object_or_404(Item.objects.prefetch_related("genres"), pk=item_id)
    state = None
    if request.user.is_authenticated:
        if _opened_by_the_person(request):
            services.event_record_view(user=request.user, item=item)
        state = activity.item_state_for_user(user=request.user, item=item)
    context = {"item": item, "state": state, "ratings": range(1, 6),
               "rating_summary": catalogue.item_rating_summary(item=item),
               "genre_control_choices": GenreControlKind.choices,
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
        request, _("You rated “%(title)s” %(value)s out of 5.") % {"title": item.display_title, "value": value}
    )
    return redirect("item_detail", item.pk)


@require_POST
@login_required
def item_like(request: HttpRequest, item_id: int) -> HttpResponse:
    """Like the item, or withdraw the like when `undo` is posted."""
    item = get_object_or_404(Item, pk=item_id)
    if request.POST.get("undo"):
        services.event_like_withdraw(user=request.user, item=item)
        messages.success(request, _("You no longer like “%(title)s”.") % {"title": item.display_title})
    else:
        services.event_record(user=request.user, data=EventInput(item=item, kind=EventKind.LIKE))
        messages.success(request, _("You like “%(title)s”.") % {"title": item.display_title})
    return redirect("item_detail", item.pk)


@require_POST
@login_required
def item_not_interested(request: HttpRequest, item_id: int) -> HttpResponse:
    """Mark the item as not interesting (never recommended again), or undo that."""
    item = get_object_or_404(Item, pk=item_id)
    if request.POST.get("undo"):
        services.control_remove(user=request.user, item=item, kind=ControlKind.NOT_INTERESTED)
        messages.success(request, _("“%(title)s” may be recommended again.") % {"title": item.display_title})
    else:
        services.event_record(
            user=request.user, data=EventInput(item=item, kind=EventKind.NOT_INTERESTED)
        )
        messages.success(
            request, _("“%(title)s” will not be recommended to you again.") % {"title": item.display_title}
        )
    return _redirect_back(request, "item_detail", item.pk)


@login_required
def history(request: HttpRequest) -> HttpResponse:
    """Show one row per item the person interacted with, latest first: what they did with
    it and the controls over it."""
    page = Paginator(activity.history_rows_for_user(user=request.user), HISTORY_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    item_ids = [row["item_id"] for row in page]
    items = Item.objects.in_bulk(item_ids)
    controls = activity.control_kinds_by_item(user=request.user, item_ids=item_ids)
    reset_at = activity.preferences_for_user(user=request.user).reset_at
    rows = [{**row, "item": items[row["item_id"]], "controls": controls.get(row["item_id"], set()),
             "before_reset": reset_at is not None and row["last"] < reset_at}
            for row in page if row["item_id"] in items]
    context = {"page_obj": page, "rows": rows, "control_choices": ControlKind.choices, "reset_at": reset_at}
    return render(request, "recommender/history.html", context)


@require_POST
@login_required
def history_item_delete(request: HttpRequest, item_id: int) -> HttpResponse:
    """Delete every event of the person on one item; an item they never touched answers 404."""
    item = get_object_or_404(Item, pk=item_id)
    if not services.events_delete_for_item(user=request.user, item=item):
        raise Http404(_("This item is not in your history."))
    messages.success(request, _("“%(title)s” was deleted from your history.") % {"title": item.display_title})
    return _redirect_back(request, "history")


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
        messages.success(request, _("“%(title)s”: %(control)s — on.") % {"title": item.display_title, "control": label})
    else:
        services.control_remove(user=request.user, item=item, kind=kind)
        messages.success(request, _("“%(title)s”: %(control)s — off.") % {"title": item.display_title, "control": label})
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


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    """Show the person's recommendation settings: the feed, reset, genres, view recording."""
    context = {
        "prefs": activity.preferences_for_user(user=request.user),
        "feed_choices": FeedKind.choices,
        "genre_controls": activity.genre_control_list_for_user(user=request.user),
        "genres": catalogue.genre_list(),
        "genre_control_choices": GenreControlKind.choices,
        "less_every": activity.GENRE_LESS_EVERY,
    }
    return render(request, "recommender/preferences.html", context)


@require_POST
@login_required
def view_recording(request: HttpRequest) -> HttpResponse:
    """Turn the recording of the person's item page views on or off."""
    form = ViewRecordingForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("That setting does not exist; nothing was changed."))
        return _redirect_back(request, "preferences")
    on = form.cleaned_data["on"]
    services.preferences_update(user=request.user, record_views=on)
    messages.success(request, _("Opening an item page is recorded again.") if on
                     else _("Opening an item page is no longer recorded."))
    return _redirect_back(request, "preferences")


@require_POST
@login_required
def recommendations_reset(request: HttpRequest) -> HttpResponse:
    """Reset the person's recommendations (their history stays), or undo the last reset."""
    if request.POST.get("undo"):
        try:
            services.recommendations_reset_undo(user=request.user)
        except services.NothingToUndo:
            messages.error(request, _("There is no reset to undo."))
            return _redirect_back(request, "preferences")
        messages.success(request, _("The reset was undone: your whole history counts again."))
    else:
        services.recommendations_reset(user=request.user)
        messages.success(request, _("Your recommendations were reset. Your history is kept, but only "
                                    "what you do from now on shapes them. You can undo this."))
    return _redirect_back(request, "preferences")


@require_POST
@login_required
def genre_control(request: HttpRequest) -> HttpResponse:
    """Ask for less of a genre, exclude it, or remove that (`off`, the undo)."""
    form = GenreControlForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("That genre control does not exist; nothing was changed."))
        return _redirect_back(request, "preferences")
    genre = get_object_or_404(Genre, pk=form.cleaned_data["genre"])
    control = form.cleaned_data["control"]
    name = genre_label(genre.name)
    if control == GenreControlForm.OFF:
        services.genre_control_remove(user=request.user, genre=genre)
        messages.success(request, _("%(genre)s is recommended as before.") % {"genre": name})
    else:
        services.genre_control_set(user=request.user, genre=genre, kind=control)
        messages.success(request, (_("You will see less %(genre)s: at most one in %(n)d recommendations.")
                                   if control == GenreControlKind.LESS
                                   else _("%(genre)s will not be recommended to you.")) % {
            "genre": name, "n": activity.GENRE_LESS_EVERY})
    return _redirect_back(request, "preferences")


def how_it_works(request: HttpRequest) -> HttpResponse:
    """Explain in plain words how recommendations are made, controlled and checked."""
    version = versions.model_version_active()
    context = {
        "version": version,
        "model": (version.config or {}).get("model", {}) if version else {},
        "top_n": settings.RECSITE_TOP_N,
        "retrain_after": settings.RECSITE_RETRAIN_AFTER_EVENTS,
        "tolerance": settings.RECSITE_QUALITY_TOLERANCE,
        "less_every": activity.GENRE_LESS_EVERY,
        "view_repeat_minutes": int(services.VIEW_REPEAT_WINDOW.total_seconds() // 60),
    }
    return render(request, "recommender/how_it_works.html", context)
