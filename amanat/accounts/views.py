from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from amanat.accounts import selectors, services
from amanat.accounts.forms import TokenCreateForm, UserCreateForm
from amanat.ui.forms import add_service_errors
from amanat.ui.pagination import paginate


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    form = TokenCreateForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        try:
            _token, new_key = services.api_token_create(actor=request.user, name=form.cleaned_data["name"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            form = TokenCreateForm()
    tokens = selectors.api_token_list_for(user=request.user)
    return render(request, "accounts/profile.html", {"form": form, "tokens": tokens, "new_key": new_key})


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = selectors.api_token_get_for(user=request.user, token_id=token_id)
    services.api_token_revoke(actor=request.user, token=token)
    messages.success(request, _("The token was revoked."))
    return redirect("accounts:profile")


def _require_administrator(user: Any) -> None:
    if not user.can_administer:
        raise Http404


@login_required
def user_list(request: HttpRequest) -> HttpResponse:
    _require_administrator(request.user)
    page = paginate(request, selectors.user_list_for(user=request.user))
    return render(request, "accounts/user_list.html", {"page": page})


@login_required
def user_new(request: HttpRequest) -> HttpResponse:
    _require_administrator(request.user)
    form = UserCreateForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = services.user_create(
                actor=request.user,
                username=data["username"],
                password=data["password"],
                role=data["role"],
                organisation=data["organisation"],
                province=data["province"],
                county=data["county"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("User %s was created.") % created.username)
            return redirect("accounts:users")
    return render(request, "accounts/user_form.html", {"form": form})


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        services.notification_mark_read(actor=request.user)
        return redirect("accounts:notifications")
    page = paginate(request, selectors.notification_list_for(user=request.user))
    return render(request, "accounts/notifications.html", {"page": page})


@login_required
@require_POST
def user_toggle_active(request: HttpRequest, user_id: int) -> HttpResponse:
    _require_administrator(request.user)
    person = selectors.user_get_for(user=request.user, user_id=user_id)
    try:
        services.user_set_active(actor=request.user, user=person, active=not person.is_active)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        done = _("%s can log in again.") if person.is_active else _("%s was deactivated.")
        messages.success(request, done % person.username)
    return redirect("accounts:users")
