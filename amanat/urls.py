from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from amanat.api import api

admin.site.site_header = "Amanat"
admin.site.site_title = "Amanat"
# Django admin sees every jurisdiction (reference data), so it is for superusers only; jurisdiction
# administrators manage their users and data through Amanat's own pages, which are scoped.
admin.site.has_permission = lambda request: bool(request.user.is_active and request.user.is_superuser)  # type: ignore[method-assign]

urlpatterns = [
    path("", include("amanat.reports.urls")),
    path("accounts/", include("amanat.accounts.urls")),
    path("geo/", include("amanat.geography.urls")),
    path("elections/", include("amanat.elections.urls")),
    path("committees/", include("amanat.committees.urls")),
    path("atlas/", include("amanat.risks.urls")),
    path("readiness/", include("amanat.readiness.urls")),
    path("incidents/", include("amanat.incidents.urls")),
    path("audit/", include("amanat.audit.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
