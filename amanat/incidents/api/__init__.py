"""The incidents API: intake (one report or a batch, with idempotency keys), cases, their moves, evidence.

Every read goes through the incident selectors, so a case or an evidence file outside the caller's
jurisdiction answers 404 exactly like a missing one; an id in a request body that does not resolve
within the caller's reach is refused with 400 naming the field. Every write is one service call: a role
that may not make it answers 403, a move the state machine does not allow answers 400 naming `state`.
Times are ISO 8601 with their offset (`2027-03-05T08:00:00+03:30`), dates ISO 8601 Gregorian.

Field devices report through `POST /` with a client-generated idempotency key (in the body or the
`Idempotency-Key` header): a retried report answers 200 with the case the first one created (never a
second case), and the same key with a different report answers 409. `POST /batch` takes up to 500
reports: each is checked on its own, the valid ones are kept, and each invalid one is named by its
position with its errors by field.
"""

# Importing the modules registers their operations on the shared router.
from amanat.incidents.api import cases, intake, moves, taxonomy  # noqa: F401
from amanat.incidents.api.routing import router

__all__ = ["router"]
