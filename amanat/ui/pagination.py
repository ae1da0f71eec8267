"""One way to paginate list pages: a page never loads more rows than it shows."""

from typing import Any

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.http import HttpRequest
from django.utils.functional import cached_property


class CappedPaginator(Paginator):
    """Counts at most `count_limit` + 1 rows: over millions of rows an exact count costs more than the page.

    Past the limit the page says "more than N" and the pages beyond it are not offered; filters narrow
    the list instead.
    """

    def __init__(self, object_list: Any, per_page: int, *, count_limit: int) -> None:
        super().__init__(object_list, per_page)
        self.count_limit = count_limit

    @cached_property
    def count(self) -> int:
        items: Any = self.object_list  # a QuerySet: counting a slice is COUNT(*) over a LIMIT
        return int(items[: self.count_limit + 1].count())

    @property
    def count_is_capped(self) -> bool:
        return self.count > self.count_limit


def paginate(
    request: HttpRequest, items: Any, per_page: int | None = None, *, count_limit: int | None = None
) -> Page:
    """The requested page of `items`; with `count_limit`, the total is counted only up to that many."""
    size = per_page or settings.PAGE_SIZE
    paginator = (
        Paginator(items, size)
        if count_limit is None
        else CappedPaginator(items, size, count_limit=count_limit)
    )
    return paginator.get_page(request.GET.get("page"))
