from amanat.readiness.views import live, readiness

app_name = "readiness"
# Each page module declares its own routes: the readiness checklist and roll-ups (readiness), and
# voting day's live operations (live).
urlpatterns = [*readiness.urlpatterns, *live.urlpatterns]
