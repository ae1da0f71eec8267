"""The incidents API's one router: every module registers on it, so a path keeps all its methods."""

from ninja import Router

router = Router(tags=["incidents"])
