"""The case state machine: every allowed move, the capability it needs, and nothing else.

Pages show an action only when `allowed_actions` lists it; the services refuse anything not in
`TRANSITIONS`, so a page, the API and a bulk action follow exactly the same rules.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from amanat.accounts.roles import Capability
from amanat.incidents.models import IncidentState as S


class Action(StrEnum):
    MODERATE = "moderate"  # a public report enters the handling queue
    TRIAGE = "triage"
    ASSIGN = "assign"
    START = "start"
    REFER = "refer"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"
    REJECT = "reject"
    MERGE = "merge"


@dataclass(frozen=True)
class Transition:
    action: Action
    source: str
    target: str
    capability: Capability
    # Work on an assigned case is for the assigned organisation (or an approver).
    assignee_only: bool = False


_EARLY = (S.AWAITING_MODERATION, S.NEW, S.TRIAGED)
_HANDLING = (S.ASSIGNED, S.IN_PROGRESS)

TRANSITIONS: tuple[Transition, ...] = (
    Transition(Action.MODERATE, S.AWAITING_MODERATION, S.NEW, Capability.EDIT),
    Transition(Action.TRIAGE, S.NEW, S.TRIAGED, Capability.EDIT),
    Transition(Action.ASSIGN, S.TRIAGED, S.ASSIGNED, Capability.EDIT),
    Transition(Action.ASSIGN, S.ASSIGNED, S.ASSIGNED, Capability.EDIT),  # reassign
    Transition(Action.ASSIGN, S.IN_PROGRESS, S.ASSIGNED, Capability.APPROVE),  # taken away mid-work
    Transition(Action.START, S.ASSIGNED, S.IN_PROGRESS, Capability.EDIT, assignee_only=True),
    Transition(Action.REFER, S.IN_PROGRESS, S.REFERRED, Capability.EDIT, assignee_only=True),
    Transition(Action.RESOLVE, S.IN_PROGRESS, S.RESOLVED, Capability.EDIT, assignee_only=True),
    Transition(Action.RESOLVE, S.REFERRED, S.RESOLVED, Capability.EDIT, assignee_only=True),
    Transition(Action.CLOSE, S.RESOLVED, S.CLOSED, Capability.APPROVE),
    Transition(Action.REOPEN, S.RESOLVED, S.IN_PROGRESS, Capability.APPROVE),
    *(Transition(Action.REJECT, source, S.REJECTED, Capability.EDIT) for source in _EARLY),
    *(Transition(Action.REJECT, source, S.REJECTED, Capability.APPROVE) for source in _HANDLING),
    *(Transition(Action.MERGE, source, S.MERGED, Capability.EDIT) for source in (*_EARLY[1:], *_HANDLING)),
)

_BY_KEY: dict[tuple[str, str], Transition] = {(t.action, t.source): t for t in TRANSITIONS}


def transition_for(action: str, source: str) -> Transition | None:
    """The transition `action` makes from state `source`, or None when it is not allowed."""
    return _BY_KEY.get((action, source))


def actions_from(source: str) -> list[Action]:
    """Every action the state machine allows from a state (before any role check)."""
    return [t.action for t in TRANSITIONS if t.source == source]


def may_ever(user: Any, action: str) -> bool:
    """Whether the user's role grants this action from at least one state (else refuse before looking
    at the case's state: a role that may never do it hears so, not that the state is wrong)."""
    return any(user.can(t.capability) for t in TRANSITIONS if t.action == action)


def refusal(user: Any, transition: Transition, assigned_organisation_id: int | None) -> str | None:
    """Why this user may not make this transition on a case assigned as given (None when they may).

    The role must grant the transition's capability; work reserved for the assignee is for a member of
    the assigned organisation, or for an approver. The caller checks the jurisdiction.
    """
    if not user.can(transition.capability):
        return f"the {transition.capability} capability is required"
    if (
        transition.assignee_only
        and not user.can(Capability.APPROVE)
        and (user.organisation_id is None or user.organisation_id != assigned_organisation_id)
    ):
        return "only the assigned organisation works on this case"
    return None
