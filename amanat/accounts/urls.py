from django.contrib.auth import views as auth_views
from django.urls import path

from amanat.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("profile/", views.profile, name="profile"),
    path("notifications/", views.notifications, name="notifications"),
    path("users/", views.user_list, name="users"),
    path("users/new/", views.user_new, name="user-create"),
    path("users/<int:user_id>/active/", views.user_toggle_active, name="user-toggle-active"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="token-revoke"),
]
