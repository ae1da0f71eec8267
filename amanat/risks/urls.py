from amanat.risks.views import atlas, levels

app_name = "risks"
# Each page module declares its own routes: the register and its review (atlas), and the county
# card, classification, map and duties (levels).
urlpatterns = [*atlas.urlpatterns, *levels.urlpatterns]
