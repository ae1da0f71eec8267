"""One way to paginate list pages: a page never loads more rows than it shows."""

from typing import Any

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.http import HttpRequest


def paginate(request: HttpRequest, items: Any, per_page: int | None = None) -> Page:
    paginator = Paginator(items, per_page or settings.PAGE_SIZE)
    return paginator.get_page(request.GET.get("page"))
