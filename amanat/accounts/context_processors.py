from django.http import HttpRequest

from amanat.accounts.selectors import notification_unread_count_for


def notifications(request: HttpRequest) -> dict[str, int]:
    """How many unread notifications the header's bell shows."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": notification_unread_count_for(user=user)}
