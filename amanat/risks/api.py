"""The atlas API: taxonomy, risks, submissions and reviews, classification, levels and duties."""

from ninja import Router

router = Router(tags=["atlas"])
