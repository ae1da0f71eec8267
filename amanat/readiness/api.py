"""The readiness and election-day API: checklist, station readiness, live status reports."""

from ninja import Router

router = Router(tags=["readiness"])
