"""Pagination of API lists: page numbers for the catalogue and staff lists, cursors for a
person's growing lists. Malformed paging parameters answer 400 instead of being ignored."""
import datetime as dt

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from rest_framework import exceptions, pagination

from .base import QUERY_INT_MAX, query_int, query_value

MAX_PAGE_SIZE = 100


def _at_least_one(parameters: list[dict], names: set[str]) -> list[dict]:
    """Return the parameters, the integer ones among `names` bounded as query_int bounds them."""
    for parameter in parameters:
        if parameter["name"] in names:
            parameter["schema"] = {**parameter["schema"], "minimum": 1, "maximum": QUERY_INT_MAX}
    return parameters


class StrictPageSizeMixin:
    page_size = 50
    page_size_query_param = "page_size"
    page_size_query_description = "Results per page: default 50, at least 1; values above 100 are treated as 100."
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request) -> int:
        """Return `?page_size=` (1 to 100, larger values lowered to 100) or the default."""
        return query_int(request, self.page_size_query_param, default=self.page_size, minimum=1,
                         cap=self.max_page_size)


class PagePagination(StrictPageSizeMixin, pagination.PageNumberPagination):
    """`?page=` and `?page_size=`; answers count, next, previous, results."""

    def get_page_number(self, request, paginator):
        return query_int(request, self.page_query_param, default=1, minimum=1, cap=QUERY_INT_MAX)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return _at_least_one(super().get_schema_operation_parameters(view), {"page", "page_size"})


def _is_position(text: str) -> bool:
    """Return True if `text` is a time with a zone that the database can compare (a cursor's
    position is the `occurred_at` or `created_at` of the row it stopped at)."""
    try:
        moment = parse_datetime(text)
        if moment is None or moment.tzinfo is None:
            return False
        moment.astimezone(dt.UTC)  # a time in year 1 east of UTC has no UTC equivalent
    except (ValueError, OverflowError):
        return False
    return True


class NewestFirstCursorPagination(StrictPageSizeMixin, pagination.CursorPagination):
    """Stable pages over a list that grows while it is read, newest first."""

    ordering = ("-occurred_at", "-id")
    cursor_query_description = "The `next` or `previous` link's cursor, as the previous page gave it."

    def decode_cursor(self, request):
        """Return the cursor of `?cursor=`, or None; answer 404 for one this API never made."""
        query_value(request, self.cursor_query_param)  # refuse a repeated cursor
        # 404 as DRF answers a cursor it cannot decode: no page of this list is there.
        invalid = exceptions.NotFound(_("Invalid cursor: use the `next` or `previous` link of a page."))
        try:
            cursor = super().decode_cursor(request)
        except exceptions.NotFound:
            raise invalid from None
        if cursor is not None and cursor.position is not None and not _is_position(cursor.position):
            raise invalid
        return cursor

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return _at_least_one(super().get_schema_operation_parameters(view), {"page_size"})


class CreatedCursorPagination(NewestFirstCursorPagination):
    ordering = ("-created_at", "-id")
