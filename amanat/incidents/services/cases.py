"""Moving a case through its states, comments, evidence, and the bulk actions of situation rooms."""

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from amanat.accounts.models import Organisation, User
from amanat.accounts.permissions import Capability, require
from amanat.audit.models import AuditAction
from amanat.audit.services import audit_record
from amanat.incidents.models import (
    OPEN_STATES,
    ActivityKind,
    Incident,
    IncidentActivity,
    IncidentCategory,
    IncidentComment,
    IncidentEvidence,
    IncidentState,
    Severity,
)
from amanat.incidents.services.intake import (
    MAX_DESCRIPTION,
    EvidenceUpload,
    _audited,
    _check_evidence_list,
    _error_dict,
    _evidence_store,
    _fail,
    _files_removed_on_failure,
)
from amanat.incidents.services.intake import (
    MAX_EVIDENCE_FILES as MAX_EVIDENCE_FILES,
)
from amanat.incidents.services.taxonomy import deadline_hours
from amanat.incidents.workflow import Action, Transition, may_ever, refusal, transition_for
from amanat.persian import normalize
from amanat.scoping import jurisdiction_of, unscoped


def _lock(incident: Incident) -> Incident:
    with unscoped():
        return Incident.objects.select_for_update().select_related("category").get(pk=incident.pk)


def _authorise(actor: Any, incident: Incident, action: Action) -> Transition:
    """The transition `action` makes from the case's state, if the actor may make it; else refuse."""
    jurisdiction = jurisdiction_of(actor)
    if not jurisdiction.covers(incident.jurisdiction):
        raise PermissionDenied("outside your jurisdiction")
    if not may_ever(actor, action):
        raise PermissionDenied(f"your role may not {action} cases")
    transition = transition_for(action, incident.state)
    if transition is None:
        message = _("A case that is %(state)s cannot be %(action)s.") % {
            "state": IncidentState(incident.state).label,
            "action": _ACTION_VERBS[action],
        }
        raise ValidationError({"state": ValidationError(message, code="transition")})
    why = refusal(actor, transition, incident.assigned_organisation_id)
    if why is not None:
        raise PermissionDenied(why)
    return transition


_ACTION_VERBS = {
    Action.MODERATE: pgettext_lazy("a case cannot be …", "moderated"),
    Action.TRIAGE: pgettext_lazy("a case cannot be …", "triaged"),
    Action.ASSIGN: pgettext_lazy("a case cannot be …", "assigned"),
    Action.START: pgettext_lazy("a case cannot be …", "started"),
    Action.REFER: pgettext_lazy("a case cannot be …", "referred"),
    Action.RESOLVE: pgettext_lazy("a case cannot be …", "resolved"),
    Action.CLOSE: pgettext_lazy("a case cannot be …", "closed"),
    Action.REOPEN: pgettext_lazy("a case cannot be …", "reopened"),
    Action.REJECT: pgettext_lazy("a case cannot be …", "rejected"),
    Action.MERGE: pgettext_lazy("a case cannot be …", "merged"),
}

_ACTIVITY = {
    Action.MODERATE: ActivityKind.MODERATED,
    Action.TRIAGE: ActivityKind.TRIAGED,
    Action.ASSIGN: ActivityKind.ASSIGNED,
    Action.START: ActivityKind.STARTED,
    Action.REFER: ActivityKind.REFERRED,
    Action.RESOLVE: ActivityKind.RESOLVED,
    Action.CLOSE: ActivityKind.CLOSED,
    Action.REOPEN: ActivityKind.REOPENED,
    Action.REJECT: ActivityKind.REJECTED,
    Action.MERGE: ActivityKind.MERGED,
}


def _move(
    *,
    actor: Any,
    incident: Incident,
    action: Action,
    note: str = "",
    now: dt.datetime | None = None,
    changes: dict[str, Any] | None = None,
    check: Callable[[Incident], None] | None = None,
) -> Incident:
    """Make one transition: lock, authorise, validate, change, timeline row, audit entry."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(incident)
        transition = _authorise(actor, locked, action)
        if check is not None:
            check(locked)
        before = _audited(locked)
        source = locked.state
        locked.state = transition.target
        for name, value in (changes or {}).items():
            setattr(locked, name, value)
        locked.updated_at = now
        # Only what the move changes (the searchable text is left alone, so its index is not rewritten).
        locked.save(update_fields=["state", "updated_at", *(changes or {})])
        IncidentActivity.objects.create(
            incident=locked,
            actor=actor,
            kind=_ACTIVITY[action],
            from_state=source,
            to_state=locked.state,
            note=note,
            at=now,
        )
        audit_record(
            actor=actor, action=AuditAction.UPDATE, entity=locked, before=before, after=_audited(locked)
        )
    return locked


def incident_moderate(*, actor: Any, incident: Incident, now: dt.datetime | None = None) -> Incident:
    """Accept a public report into the handling queue (spam and abuse are rejected instead)."""
    return _move(actor=actor, incident=incident, action=Action.MODERATE, now=now)


def incident_triage(
    *,
    actor: Any,
    incident: Incident,
    severity: str | None = None,
    category: IncidentCategory | None = None,
    note: str = "",
    now: dt.datetime | None = None,
) -> Incident:
    """Confirm or correct the category and severity; the deadline follows them.

    A case escalated under its old deadline that the new one no longer makes overdue is no longer escalated
    (the escalation task climbs again from the new deadline if it passes).
    """
    now = now or timezone.now()
    changes: dict[str, Any] = {}

    def check(locked: Incident) -> None:
        if severity is not None and severity not in Severity.values:
            raise _fail("severity", _("Unknown severity."))
        if category is not None and not category.is_active:
            raise _fail("category", _("This category is no longer in use."))
        new_category = category or locked.category
        new_severity = severity or locked.severity
        changes["category"] = new_category
        changes["severity"] = new_severity
        changes["deadline_at"] = locked.received_at + dt.timedelta(
            hours=deadline_hours(new_category, new_severity)
        )
        if locked.escalation_level and changes["deadline_at"] > now:
            changes["escalation_level"] = 0
            changes["escalated_at"] = None

    return _move(
        actor=actor, incident=incident, action=Action.TRIAGE, note=note, now=now, changes=changes, check=check
    )


def incident_assign(
    *,
    actor: Any,
    incident: Incident,
    organisation: Organisation,
    assignee: User | None = None,
    note: str = "",
    now: dt.datetime | None = None,
) -> Incident:
    """Give the case to an organisation (and optionally one of its people) of the case's jurisdiction line."""

    def check(locked: Incident) -> None:
        if not organisation.is_active or not organisation.jurisdiction.related(locked.jurisdiction):
            raise _fail(
                "organisation", _("Choose an active organisation of this county, its province or the nation.")
            )
        if assignee is not None and (assignee.organisation_id != organisation.pk or not assignee.is_active):
            raise _fail("assignee", _("The handler must belong to the chosen organisation."))

    return _move(
        actor=actor,
        incident=incident,
        action=Action.ASSIGN,
        note=note or organisation.name,
        now=now,
        changes={"assigned_organisation": organisation, "assignee": assignee},
        check=check,
    )


def incident_start(*, actor: Any, incident: Incident, now: dt.datetime | None = None) -> Incident:
    """The assigned organisation starts work on the case."""
    return _move(actor=actor, incident=incident, action=Action.START, now=now)


def incident_refer(
    *, actor: Any, incident: Incident, authority: str, case_number: str, now: dt.datetime | None = None
) -> Incident:
    """Record the referral to the prosecutor or court, with the case number they gave."""
    now = now or timezone.now()
    authority, case_number = authority.strip(), case_number.strip()

    def check(locked: Incident) -> None:
        errors = {}
        if not authority:
            errors["authority"] = [_("Name the prosecutor's office or court.")]
        elif len(authority) > 200:
            errors["authority"] = [_("At most 200 characters.")]
        if not case_number:
            errors["case_number"] = [_("Give the case number the judiciary assigned.")]
        elif len(case_number) > 60:
            errors["case_number"] = [_("At most 60 characters.")]
        if errors:
            raise ValidationError(errors)

    return _move(
        actor=actor,
        incident=incident,
        action=Action.REFER,
        note=f"{authority} — {case_number}",
        now=now,
        changes={"referral_authority": authority, "referral_case_number": case_number, "referred_at": now},
        check=check,
    )


def _required(field_name: str, value: str, message: str) -> Callable[[Incident], None]:
    """A check that refuses an empty text (run once the actor may make the move)."""

    def check(locked: Incident) -> None:
        if not value.strip():
            raise _fail(field_name, message)
        if len(value.strip()) > MAX_DESCRIPTION:
            raise _fail(field_name, _("The text is too long (at most 10,000 characters)."))

    return check


def incident_resolve(
    *, actor: Any, incident: Incident, resolution: str, now: dt.datetime | None = None
) -> Incident:
    """Record how the case was dealt with."""
    now = now or timezone.now()
    return _move(
        actor=actor,
        incident=incident,
        action=Action.RESOLVE,
        note=resolution.strip(),
        now=now,
        changes={"resolution": resolution.strip(), "resolved_at": now},
        check=_required("resolution", resolution, _("Say how the case was resolved.")),
    )


def incident_close(
    *, actor: Any, incident: Incident, note: str = "", now: dt.datetime | None = None
) -> Incident:
    """Close a resolved case (an approver's decision)."""
    now = now or timezone.now()
    return _move(
        actor=actor,
        incident=incident,
        action=Action.CLOSE,
        note=note.strip(),
        now=now,
        changes={"closed_at": now},
    )


def incident_reopen(
    *, actor: Any, incident: Incident, reason: str, now: dt.datetime | None = None
) -> Incident:
    """Send a resolved case back to work, saying why."""
    return _move(
        actor=actor,
        incident=incident,
        action=Action.REOPEN,
        note=reason.strip(),
        now=now,
        changes={"resolved_at": None, "resolution": ""},
        check=_required("reason", reason, _("Say why the case is reopened.")),
    )


def incident_reject(
    *, actor: Any, incident: Incident, reason: str, now: dt.datetime | None = None
) -> Incident:
    """Reject a report (unfounded, abusive, out of scope), with the reason on record."""
    now = now or timezone.now()
    return _move(
        actor=actor,
        incident=incident,
        action=Action.REJECT,
        note=reason.strip(),
        now=now,
        changes={"reason": reason.strip(), "resolved_at": now},
        check=_required("reason", reason, _("Give the reason for rejecting the report.")),
    )


def incident_merge(
    *, actor: Any, incident: Incident, into: Incident, reason: str, now: dt.datetime | None = None
) -> Incident:
    """Merge a duplicate into another case: its text and evidence stay, shown and searchable on the target."""
    now = now or timezone.now()
    reason = reason.strip()
    with transaction.atomic():
        # Both rows are locked in id order, so two opposite merges cannot deadlock.
        with unscoped():
            locked = {
                row.pk: row
                for row in Incident.objects.select_for_update()
                .filter(pk__in=[incident.pk, into.pk])
                .order_by("pk")
            }
        source = locked.get(incident.pk)
        if source is None:
            raise Incident.DoesNotExist
        # The state, the role and the jurisdiction first: nothing about the target is said to an outsider.
        _authorise(actor, source, Action.MERGE)
        if not reason:
            raise _fail("reason", _("Give the reason for merging."))
        if len(reason) > MAX_DESCRIPTION:
            raise _fail("reason", _("The text is too long (at most 10,000 characters)."))
        if into.pk == incident.pk:
            raise _fail("into", _("A case cannot be merged into itself."))
        target = locked.get(into.pk)
        if target is None or not jurisdiction_of(actor).covers(target.jurisdiction):
            raise _fail("into", _("Unknown case, or one outside your jurisdiction."))
        if target.county_id != source.county_id:
            raise _fail("into", _("Only reports from the same county can be merged."))
        if target.state not in OPEN_STATES - {IncidentState.AWAITING_MODERATION}:
            raise _fail("into", _("Merge into a case that is still open."))

        def absorb(merged: Incident) -> None:
            before = _audited(target)
            target.search_text = f"{target.search_text} {merged.search_text}".strip()
            target.updated_at = now
            target.save(update_fields=["search_text", "updated_at"])
            IncidentActivity.objects.create(
                incident=target,
                actor=actor,
                kind=ActivityKind.ABSORBED,
                note=_("Report #%(id)s merged in: %(reason)s") % {"id": merged.pk, "reason": reason},
                at=now,
            )
            audit_record(
                actor=actor,
                action=AuditAction.UPDATE,
                entity=target,
                before=before,
                after={**_audited(target), "absorbed": merged.pk},
            )

        return _move(
            actor=actor,
            incident=source,
            action=Action.MERGE,
            note=_("Merged into #%(id)s: %(reason)s") % {"id": target.pk, "reason": reason},
            now=now,
            changes={"merged_into": target, "reason": reason, "resolved_at": now},
            check=absorb,
        )


def incident_comment_add(
    *, actor: Any, incident: Incident, body: str, now: dt.datetime | None = None
) -> IncidentComment:
    """Add a comment to a case's timeline (searchable with the case)."""
    now = now or timezone.now()
    require(actor, Capability.EDIT, within=incident.jurisdiction)
    body = body.strip()
    if not body:
        raise _fail("body", _("Write the comment."))
    if len(body) > MAX_DESCRIPTION:
        raise _fail("body", _("The comment is too long (at most 10,000 characters)."))
    with transaction.atomic():
        locked = _lock(incident)
        comment = IncidentComment.objects.create(incident=locked, author=actor, body=body, created_at=now)
        folded = normalize(body)
        locked.search_text = f"{locked.search_text} {folded}".strip()
        locked.updated_at = now
        locked.save(update_fields=["search_text", "updated_at"])
        # A merged report's text is searchable on the case it was merged into: so is a later comment on it.
        target_id = locked.merged_into_id
        seen = {locked.pk}
        while target_id is not None and target_id not in seen:
            seen.add(target_id)
            with unscoped():
                target = Incident.objects.select_for_update().get(pk=target_id)
            target.search_text = f"{target.search_text} {folded}".strip()
            target.save(update_fields=["search_text"])
            target_id = target.merged_into_id
        IncidentActivity.objects.create(incident=locked, actor=actor, kind=ActivityKind.COMMENTED, at=now)
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            entity=comment,
            after={"incident": locked.pk, "length": len(body)},
            province_id=locked.province_id,
            county_id=locked.county_id,
        )
    return comment


def incident_evidence_add(
    *, actor: Any, incident: Incident, uploads: Sequence[EvidenceUpload], now: dt.datetime | None = None
) -> list[IncidentEvidence]:
    """Attach evidence files to a case (type checked by content, SHA-256 recorded)."""
    now = now or timezone.now()
    require(actor, Capability.EDIT, within=incident.jurisdiction)
    if not uploads:
        raise _fail("evidence", _("Choose a file."))
    _check_evidence_list(uploads)
    with _files_removed_on_failure() as written, transaction.atomic():
        locked = _lock(incident)
        if locked.state in {IncidentState.CLOSED, IncidentState.MERGED, IncidentState.REJECTED}:
            raise _fail("evidence", _("The case is no longer open."))
        stored = _evidence_store(incident=locked, uploads=uploads, actor=actor, now=now, written=written)
        IncidentActivity.objects.create(
            incident=locked,
            actor=actor,
            kind=ActivityKind.EVIDENCE,
            note=", ".join(e.original_name for e in stored),
            at=now,
        )
        for evidence in stored:
            audit_record(
                actor=actor,
                action=AuditAction.CREATE,
                entity=evidence,
                after={
                    "incident": locked.pk,
                    "sha256": evidence.sha256,
                    "size": evidence.size,
                    "type": evidence.content_type,
                },
                province_id=locked.province_id,
                county_id=locked.county_id,
            )
    return stored


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)  # case id -> why it was not changed


BULK_ACTIONS = frozenset(
    {Action.MODERATE, Action.TRIAGE, Action.ASSIGN, Action.MERGE, Action.CLOSE, Action.REJECT}
)


def incidents_bulk_apply(
    *,
    actor: Any,
    incident_ids: Iterable[int],
    action: str,
    organisation: Organisation | None = None,
    assignee: User | None = None,
    severity: str | None = None,
    into: Incident | None = None,
    reason: str = "",
    now: dt.datetime | None = None,
) -> BulkResult:
    """Apply one action to many cases, each through its own service call and audit entry; list refusals."""
    jurisdiction = require(actor, Capability.EDIT)
    if action not in BULK_ACTIONS:
        raise _fail("action", _("This action cannot be applied to many cases at once."))
    if action == Action.ASSIGN and organisation is None:
        raise _fail("organisation", _("Choose the organisation."))
    if action == Action.MERGE and into is None:
        raise _fail("into", _("Choose the case to merge into."))
    if action in {Action.MERGE, Action.REJECT} and not reason.strip():
        raise _fail("reason", _("Give the reason."))
    ids = sorted(set(incident_ids))
    if not ids:
        raise _fail("incidents", _("Select at least one case."))
    if len(ids) > 1000:
        raise _fail("incidents", _("At most 1,000 cases at once."))
    now = now or timezone.now()
    result = BulkResult()
    with unscoped():
        cases = {c.pk: c for c in Incident.objects.filter(pk__in=ids).filter(jurisdiction.related_q())}
    for pk in ids:
        incident = cases.get(pk)
        if incident is None or not jurisdiction.covers(incident.jurisdiction):
            result.errors[pk] = _("Unknown case, or one outside your jurisdiction.")
            continue
        try:
            with transaction.atomic():
                if action == Action.MODERATE:
                    incident_moderate(actor=actor, incident=incident, now=now)
                elif action == Action.TRIAGE:
                    incident_triage(actor=actor, incident=incident, severity=severity or None, now=now)
                elif action == Action.ASSIGN:
                    assert organisation is not None
                    incident_assign(
                        actor=actor, incident=incident, organisation=organisation, assignee=assignee, now=now
                    )
                elif action == Action.MERGE:
                    assert into is not None
                    if pk == into.pk:
                        continue
                    incident_merge(actor=actor, incident=incident, into=into, reason=reason, now=now)
                elif action == Action.CLOSE:
                    incident_close(actor=actor, incident=incident, note=reason, now=now)
                else:
                    incident_reject(actor=actor, incident=incident, reason=reason, now=now)
        except ValidationError as error:
            result.errors[pk] = " ".join(m for ms in _error_dict(error).values() for m in ms)
        except PermissionDenied:
            result.errors[pk] = _("Your role does not allow this on this case.")
        else:
            result.done.append(pk)
    return result
