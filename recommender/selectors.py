"""Reads: the catalogue, popularity and a person's history."""
from django.db.models import Count, Q, QuerySet

from recsite.accounts.models import User

from .models import ControlKind, Event, Genre, Item, UserControl


def item_list(*, search: str = "", genre: str = "") -> QuerySet[Item]:
    """Return catalogue items matching a title search and a genre name, by title."""
    items = Item.objects.prefetch_related("genres")
    if search:
        items = items.filter(title__icontains=search.strip())
    if genre:
        items = items.filter(genres__name=genre)
    return items.order_by("title", "id")


def genre_list() -> QuerySet[Genre]:
    """Return every genre that at least one item carries, by name."""
    return Genre.objects.filter(items__isnull=False).distinct().order_by("name")


def item_popular(*, limit: int = 12, user: User | None = None) -> list[Item]:
    """Return the most interacted-with items; for a person, without what they already
    interacted with or marked not interested."""
    items = Item.objects.annotate(n=Count("events")).filter(n__gt=0)
    if user is not None and user.is_authenticated:
        items = items.exclude(
            Q(events__user=user)
            | Q(controls__user=user, controls__kind=ControlKind.NOT_INTERESTED)
        )
    return list(items.prefetch_related("genres").order_by("-n", "id")[:limit])


def event_list_for_user(*, user: User) -> QuerySet[Event]:
    """Return this person's events, newest first, with their items."""
    return (
        Event.objects.filter(user=user)
        .select_related("item")
        .order_by("-occurred_at", "-id")
    )


def control_kinds_by_item(*, user: User, item_ids: list[int] | None = None) -> dict[int, set[str]]:
    """Return {item id: set of control kinds} for this person's controls."""
    controls = UserControl.objects.filter(user=user)
    if item_ids is not None:
        controls = controls.filter(item_id__in=item_ids)
    result: dict[int, set[str]] = {}
    for item_id, kind in controls.values_list("item_id", "kind"):
        result.setdefault(item_id, set()).add(kind)
    return result


def item_state_for_user(*, user: User, item: Item) -> dict:
    """Return what this person did with this item: latest rating, liked, controls."""
    events = Event.objects.filter(user=user, item=item)
    rating = events.filter(kind="rate").order_by("-occurred_at", "-id").values_list("value", flat=True).first()
    return {
        "rating": rating,
        "liked": events.filter(kind="like").exists(),
        "controls": control_kinds_by_item(user=user, item_ids=[item.pk]).get(item.pk, set()),
    }


def recommendation_list_for_user(*, user: User, k: int = 10) -> list:
    """Return this person's stored top-k recommendations with their items, best first.

    Items the person has since marked "not interested" or interacted with are left out,
    so an action shows at once even before the worker's refresh lands.
    """
    from .models import Recommendation

    blocked = set(
        UserControl.objects.filter(user=user, kind=ControlKind.NOT_INTERESTED).values_list("item_id", flat=True)
    ) | set(Event.objects.filter(user=user).values_list("item_id", flat=True))
    recs = (
        Recommendation.objects.filter(user=user)
        .select_related("item", "model_version")
        .prefetch_related("item__genres")
        .order_by("rank")
    )
    return [r for r in recs[: k + len(blocked)] if r.item_id not in blocked][:k]


def item_map(*, ids: list[int]) -> dict[int, Item]:
    """Return {id: item} for those of these ids that exist."""
    return Item.objects.in_bulk(set(ids)) if ids else {}


def control_list_for_user(*, user: User) -> QuerySet[UserControl]:
    """Return this person's controls, newest first."""
    return UserControl.objects.filter(user=user).order_by("-created_at", "-id")


def training_run_list() -> QuerySet:
    """Return every training run, newest first."""
    from .models import TrainingRun

    return TrainingRun.objects.order_by("-created_at", "-id")


def model_version_list() -> QuerySet:
    """Return every model version, newest first."""
    from .models import ModelVersion

    return ModelVersion.objects.order_by("-created_at", "-id")
