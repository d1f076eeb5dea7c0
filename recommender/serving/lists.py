"""Reads of the stored lists: a person's recommendations as pages and the API show them,
with what they did or chose since the list was computed applied at once."""
import datetime as dt

from django.conf import settings
from django.db import connection

from recsite.accounts.models import User

from ..activity.selectors import demote_genres, genre_controls_for_user
from ..catalogue.titles import reading_order
from ..models import ControlKind, Event, GenreControlKind, Recommendation, UserControl


def recommendation_list_for_user(*, user: User, k: int = 10) -> list:
    """Return this person's stored top-k recommendations with their items, best first.

    Items the person has since marked "not interested" or interacted with, and items of a
    genre they excluded, are left out (in the database, by subqueries), and items of a
    genre they want less of are moved down, so an action shows at once, before the
    worker's refresh lands.
    """
    controls = genre_controls_for_user(user=user)
    recs = (
        Recommendation.objects.filter(user=user)
        .exclude(item_id__in=UserControl.objects.filter(user=user, kind=ControlKind.NOT_INTERESTED).values("item_id"))
        .exclude(item_id__in=Event.objects.filter(user=user).values("item_id"))
    )
    if controls.exclude:
        recs = recs.exclude(item__genres__in=controls.exclude)
    recs = recs.select_related("item").prefetch_related("item__genres").order_by("rank")
    if not controls.less:
        return list(recs[:k])
    ranked = demote_genres(list(recs[:settings.RECSITE_TOP_N]),
                           lambda r: [g.pk for g in r.item.genres.all()], controls.less)
    return ranked[:k]


# Written out in SQL: building the equivalent ORM query took about a third of the API's
# time per request under load (bench/api_load.py). Portable to SQLite and PostgreSQL.
_RECOMMENDATION_ROWS_SQL = """
SELECT r.rank, r.score, r.model_version_id, r.computed_at, i.id, i.external_id, i.title, i.year, g.name, g.id
FROM (
    SELECT r.id FROM recommender_recommendation r
    WHERE r.user_id = %(user)s
      AND NOT EXISTS (SELECT 1 FROM recommender_event e WHERE e.user_id = %(user)s AND e.item_id = r.item_id)
      AND NOT EXISTS (SELECT 1 FROM recommender_usercontrol c WHERE c.user_id = %(user)s
                      AND c.item_id = r.item_id AND c.kind = %(not_interested)s)
      AND NOT EXISTS (SELECT 1 FROM recommender_item_genres xg JOIN recommender_genrecontrol gc
                      ON gc.genre_id = xg.genre_id AND gc.user_id = %(user)s AND gc.kind = %(exclude)s
                      WHERE xg.item_id = r.item_id)
    ORDER BY r.rank LIMIT %(k)s
) top
JOIN recommender_recommendation r ON r.id = top.id
JOIN recommender_item i ON i.id = r.item_id
LEFT JOIN recommender_item_genres ig ON ig.item_id = i.id
LEFT JOIN recommender_genre g ON g.id = ig.genre_id
ORDER BY r.rank, g.name
"""


def recommendation_rows_for_user(*, user: User, k: int = 10) -> list[dict]:
    """Return `recommendation_list_for_user`'s list as plain dicts (rank, score, model
    version id, computed time, item fields and genre names) read in one query (two when
    the person wants less of a genre: the whole stored list is read to move those down)."""
    less = genre_controls_for_user(user=user).less
    with connection.cursor() as cursor:
        cursor.execute(_RECOMMENDATION_ROWS_SQL, {
            "user": user.pk, "k": settings.RECSITE_TOP_N if less else k,
            "not_interested": ControlKind.NOT_INTERESTED.value, "exclude": GenreControlKind.EXCLUDE.value})
        rows = cursor.fetchall()
    result: list[dict] = []
    genre_ids: dict[int, list[int]] = {}
    for rank, score, version_id, computed_at, item_id, external_id, title, year, genre, genre_id in rows:
        if not result or result[-1]["rank"] != rank:
            result.append({"rank": rank, "score": score, "model_version_id": version_id,
                           "computed_at": _aware(computed_at),
                           "item": {"id": item_id, "external_id": external_id, "title": title,
                                    "display_title": reading_order(title), "year": year, "genres": []}})
        if genre is not None:
            result[-1]["item"]["genres"].append(genre)
            genre_ids.setdefault(item_id, []).append(genre_id)
    if less:
        result = demote_genres(result, lambda r: genre_ids.get(r["item"]["id"], []), less)[:k]
    return result


def _aware(value):
    """Return a time read by a raw cursor as the ORM would: aware, in UTC (SQLite stores
    naive UTC, as text or as a naive datetime)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value
