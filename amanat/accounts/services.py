"""Writes to accounts: users, organisations, API tokens, and the audit of logins."""

import hashlib
import secrets
from collections.abc import Iterable
from typing import Any

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from amanat.accounts.models import ApiToken, Notification, Organisation, User
from amanat.accounts.permissions import Capability, require
from amanat.accounts.roles import Role
from amanat.audit.models import AuditAction
from amanat.audit.services import audit_record, snapshot
from amanat.geography.models import County, Province
from amanat.reference_cache import ReferenceCache
from amanat.scoping import Jurisdiction

TOKEN_PREFIX = "amn_"
# Field devices send a request every few seconds: the user behind a token is kept this long between
# lookups. Revoking a token or changing its user takes effect at once where Redis is the cache, and
# within this time in the other processes of a set-up without it.
token_users: ReferenceCache["User | None"] = ReferenceCache(
    "api-token-user", timeout=settings.API_TOKEN_CACHE_SECONDS
)


def _jurisdiction(province: Province | None, county: County | None) -> Jurisdiction:
    if county is not None:
        if province is not None and county.province_id != province.pk:
            raise ValidationError({"county": _("The county is not in the chosen province.")})
        return Jurisdiction(province_id=county.province_id, county_id=county.pk)
    return Jurisdiction(province_id=province.pk if province else None)


def organisation_create(
    *,
    actor: Any,
    name: str,
    kind: str,
    province: Province | None = None,
    county: County | None = None,
    name_en: str = "",
) -> Organisation:
    """Add an organisation to the managed list, at a jurisdiction within the actor's."""
    where = _jurisdiction(province, county)
    require(actor, Capability.ADMINISTER, within=where)
    organisation = Organisation(
        name=name.strip(),
        name_en=name_en.strip(),
        kind=kind,
        province_id=where.province_id,
        county_id=where.county_id,
    )
    organisation.full_clean()
    with transaction.atomic():
        organisation.save()
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            entity=organisation,
            after=snapshot(organisation),
        )
    return organisation


def user_create(
    *,
    actor: Any,
    username: str,
    password: str,
    role: str,
    organisation: Organisation | None,
    province: Province | None = None,
    county: County | None = None,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    is_staff: bool = False,
) -> User:
    """Create a user at a jurisdiction within the actor's; the organisation must serve that jurisdiction."""
    where = _jurisdiction(province, county)
    require(actor, Capability.ADMINISTER, within=where)
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role.")})
    if (
        organisation is not None
        and not organisation.jurisdiction.covers(where)
        and not where.covers(organisation.jurisdiction)
    ):
        raise ValidationError({"organisation": _("The organisation does not serve this jurisdiction.")})
    user = User(
        username=username.strip(),
        role=role,
        organisation=organisation,
        province_id=where.province_id,
        county_id=where.county_id,
        first_name=first_name,
        last_name=last_name,
        email=email,
        is_staff=is_staff,
    )
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(password)
    user.full_clean(exclude=["password"])
    with transaction.atomic():
        user.save()
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            entity=user,
            after=snapshot(user),
        )
    return user


def _token_hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_token_create(*, actor: Any, name: str) -> tuple[ApiToken, str]:
    """Issue a token for the actor's own use; the raw key is shown once and never stored."""
    require(actor, Capability.VIEW)
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Give the token a name.")})
    raw_key = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=actor, name=name[:100], prefix=raw_key[:12], key_hash=_token_hash(raw_key)
        )
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            entity=token,
            after={"name": token.name, "prefix": token.prefix, "user_id": actor.pk},
            province_id=actor.province_id,
            county_id=actor.county_id,
        )
    return token, raw_key


def api_token_revoke(*, actor: Any, token: ApiToken) -> ApiToken:
    """Revoke one of the actor's own tokens."""
    if token.user_id != actor.pk:
        raise ValidationError(_("You can only revoke your own tokens."))
    if token.revoked_at is not None:
        return token
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        token_users.invalidate()
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            entity=token,
            before={"revoked_at": None},
            after={"revoked_at": token.revoked_at},
            province_id=actor.province_id,
            county_id=actor.county_id,
        )
    return token


def api_token_authenticate(*, raw_key: str) -> User | None:
    """The active user behind a bearer token, or None; records when the token was last used."""
    if not raw_key.startswith(TOKEN_PREFIX):
        return None
    key_hash = _token_hash(raw_key)
    return token_users.get(key_hash, lambda: _token_user(key_hash), keep_none=False)


def _token_user(key_hash: str) -> User | None:
    token = (
        ApiToken.objects.select_related("user", "user__organisation")
        .filter(key_hash=key_hash, revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        # Coarse, so that busy devices do not turn every read into a write.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def api_tokens_forget_users() -> None:
    """Drop the cached users behind tokens, after a user's role, jurisdiction or activity changed."""
    token_users.invalidate()


def _client_ip(request: Any) -> str | None:
    # The same address login throttling uses (PROXY_COUNT decides whether X-Forwarded-For is trusted).
    return get_client_ip_address(request) if request is not None else None


def login_record(*, user: User, request: Any) -> None:
    """Audit a successful login."""
    audit_record(
        actor=user,
        action=AuditAction.LOGIN,
        entity=user,
        ip_address=_client_ip(request),
    )


def logout_record(*, user: User | None, request: Any) -> None:
    """Audit a logout."""
    if user is None:
        return
    audit_record(
        actor=user,
        action=AuditAction.LOGOUT,
        entity=user,
        ip_address=_client_ip(request),
    )


def login_failure_record(*, username: str, request: Any) -> None:
    """Audit a failed login, in the jurisdiction of the account it tried (if any)."""
    target = User.objects.filter(username=username).only("id", "province_id", "county_id").first()
    audit_record(
        actor=None,
        actor_label="anonymous",
        action=AuditAction.LOGIN_FAILED,
        entity_type="accounts.User",
        entity_id=target.pk if target else "",
        entity_label=username[:150],
        province_id=target.province_id if target else None,
        county_id=target.county_id if target else None,
        ip_address=_client_ip(request),
    )


def notification_send(*, users: Iterable[User], message: str, url: str = "") -> int:
    """Leave an in-app message for each user (not audited: it records no change to the election's data)."""
    return notification_send_many(messages=[(list(users), message, url)])


def notification_send_many(*, messages: Iterable[tuple[Iterable[User], str, str]]) -> int:
    """Leave many in-app messages, each (users, message, url), in a few INSERTs."""
    rows = [
        Notification(user=user, message=message[:500], url=url[:300])
        for users, message, url in messages
        for user in users
    ]
    Notification.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def notification_mark_read(*, actor: Any, notification_ids: Iterable[int] | None = None) -> int:
    """Mark the actor's notifications read: the given ones, or all."""
    unread = Notification.objects.filter(user=actor, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=list(notification_ids))
    return unread.update(read_at=timezone.now())


def user_set_active(*, actor: Any, user: User, active: bool) -> User:
    """Deactivate or restore a user of the actor's jurisdiction; inactive users cannot log in."""
    require(actor, Capability.ADMINISTER, within=user.jurisdiction)
    if user.pk == actor.pk:
        raise ValidationError(_("You cannot deactivate yourself."))
    if user.is_active == active:
        return user
    with transaction.atomic():
        user.is_active = active
        user.save(update_fields=["is_active"])
        token_users.invalidate()
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            entity=user,
            before={"is_active": not active},
            after={"is_active": active},
        )
    return user
