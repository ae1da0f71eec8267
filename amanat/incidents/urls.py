from amanat.incidents.views import cases, public

app_name = "incidents"
# Each page module declares its own routes: the officials' case pages (cases) and the public
# reporting page that needs no login (public).
urlpatterns = [*public.urlpatterns, *cases.urlpatterns]
