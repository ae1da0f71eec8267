from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.security import HttpBearer

from amanat.accounts import selectors, services

router = Router(tags=["accounts"])


class TokenAuth(HttpBearer):
    """`Authorization: Bearer amn_…`, a token issued on the account page."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = services.api_token_authenticate(raw_key=token)
        if user is not None:
            request.user = user
        return user


class MeOut(Schema):
    id: int
    username: str
    full_name: str
    role: str
    organisation: str | None
    jurisdiction_level: str
    province_id: int | None
    county_id: int | None


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: Any
    last_used_at: Any = None
    revoked_at: Any = None


class TokenIn(Schema):
    name: str


class TokenCreatedOut(TokenOut):
    key: str


@router.get("/me", response=MeOut, summary="The authenticated user and their jurisdiction")
def me(request: HttpRequest) -> dict[str, Any]:
    user: Any = request.user
    return {
        "id": user.pk,
        "username": user.username,
        "full_name": user.get_full_name(),
        "role": user.role,
        "organisation": str(user.organisation) if user.organisation_id else None,
        "jurisdiction_level": user.jurisdiction.level,
        "province_id": user.province_id,
        "county_id": user.county_id,
    }


@router.get("/tokens", response=list[TokenOut], summary="Your API tokens")
def token_list(request: HttpRequest) -> Any:
    return selectors.api_token_list_for(user=request.user)


@router.post("/tokens", response={201: TokenCreatedOut}, summary="Issue a token; the key is shown only here")
def token_create(request: HttpRequest, payload: TokenIn) -> Any:
    token, key = services.api_token_create(actor=request.user, name=payload.name)
    return 201, {**TokenOut.from_orm(token).dict(), "key": key}


@router.delete("/tokens/{token_id}", response={204: None}, summary="Revoke one of your tokens")
def token_revoke(request: HttpRequest, token_id: int) -> Any:
    token = selectors.api_token_get_for(user=request.user, token_id=token_id)
    services.api_token_revoke(actor=request.user, token=token)
    return 204, None
