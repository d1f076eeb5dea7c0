"""Pagination of API lists: page numbers for the catalogue, cursors for growing lists."""
from rest_framework import pagination


class PagePagination(pagination.PageNumberPagination):
    """`?page=` and `?page_size=` (at most 100); answers count, next, previous, results."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 100


class NewestFirstCursorPagination(pagination.CursorPagination):
    """Stable pages over a list that grows while it is read (newest first)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 100
    ordering = ("-occurred_at", "-id")


class CreatedCursorPagination(NewestFirstCursorPagination):
    ordering = ("-created_at", "-id")
