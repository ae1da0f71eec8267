from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from amanat.scoping import unscoped


class AdminScopeMiddleware:
    """Django admin is for national administrators of reference data: it sees every jurisdiction.

    Anyone else reaching /admin/ is turned away by the admin's own staff check, before any
    scoped query runs.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            request.path.startswith("/admin/")
            and user is not None
            and user.is_authenticated
            and user.is_superuser
        ):
            with unscoped():
                return self.get_response(request)
        return self.get_response(request)
