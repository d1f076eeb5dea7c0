"""Pagination of API lists: page numbers for the catalogue and staff lists, cursors for a
person's growing lists. Malformed paging parameters answer 400 instead of being ignored."""
from rest_framework import pagination

from .base import query_int, query_value

MAX_PAGE_SIZE = 100


class StrictPageSizeMixin:
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request) -> int:
        """Return `?page_size=` (1 to 100, larger values lowered to 100) or the default."""
        return query_int(request, self.page_size_query_param, default=self.page_size, minimum=1,
                         cap=self.max_page_size)


class PagePagination(StrictPageSizeMixin, pagination.PageNumberPagination):
    """`?page=` and `?page_size=`; answers count, next, previous, results."""

    def get_page_number(self, request, paginator):
        return query_int(request, self.page_query_param, default=1, minimum=1, cap=10**9)


class NewestFirstCursorPagination(StrictPageSizeMixin, pagination.CursorPagination):
    """Stable pages over a list that grows while it is read, newest first."""

    ordering = ("-occurred_at", "-id")

    def decode_cursor(self, request):
        query_value(request, self.cursor_query_param)  # refuse a repeated cursor
        return super().decode_cursor(request)


class CreatedCursorPagination(NewestFirstCursorPagination):
    ordering = ("-created_at", "-id")
