"""Login auditing hooks.

Django's authentication signals are the one hook that every login path fires (site login,
admin login, throttled attempts), so they are used here rather than per-view calls.
"""

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from amanat.accounts import services


@receiver(user_logged_in, dispatch_uid="amanat_audit_login")
def _audit_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    services.login_record(user=user, request=request)


@receiver(user_logged_out, dispatch_uid="amanat_audit_logout")
def _audit_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    services.logout_record(user=user, request=request)


@receiver(user_login_failed, dispatch_uid="amanat_audit_login_failed")
def _audit_login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    services.login_failure_record(username=str(credentials.get("username", "")), request=request)
