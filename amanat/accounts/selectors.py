"""Reads of accounts, scoped to the caller."""

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from amanat.accounts.models import ApiToken, Notification, Organisation, User
from amanat.scoping import jurisdiction_of, scoped_to


def api_token_list_for(*, user: Any) -> QuerySet[ApiToken]:
    """The caller's own API tokens."""
    jurisdiction_of(user)
    return ApiToken.objects.filter(user=user).order_by("-created_at")


def api_token_get_for(*, user: Any, token_id: Any) -> ApiToken:
    """One of the caller's own tokens."""
    try:
        return api_token_list_for(user=user).get(pk=int(token_id))
    except (ApiToken.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def user_list_for(*, user: Any) -> QuerySet[User]:
    """Users within the caller's jurisdiction."""
    with scoped_to(user):
        return User.in_jurisdiction.select_related("organisation", "province", "county").order_by("username")


def organisation_list_for(*, user: Any) -> QuerySet[Organisation]:
    """Organisations that serve the caller's jurisdiction: national ones, their province's and their own."""
    jurisdiction = jurisdiction_of(user)
    if jurisdiction.province_id is None:
        return Organisation.objects.filter(is_active=True)
    visible = Q(province__isnull=True) | Q(province_id=jurisdiction.province_id, county__isnull=True)
    if jurisdiction.county_id is None:
        visible |= Q(province_id=jurisdiction.province_id)
    else:
        visible |= Q(county_id=jurisdiction.county_id)
    return Organisation.objects.filter(visible, is_active=True)


def notification_list_for(*, user: Any) -> QuerySet[Notification]:
    """The caller's own notifications, newest first."""
    jurisdiction_of(user)
    return Notification.objects.filter(user=user).order_by("-created_at", "-pk")


def notification_unread_count_for(*, user: Any) -> int:
    """How many of the caller's notifications are unread."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def user_get_for(*, user: Any, user_id: Any) -> User:
    """One user within the caller's jurisdiction."""
    try:
        return user_list_for(user=user).get(pk=int(user_id))
    except (User.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
