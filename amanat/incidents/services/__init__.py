"""Writes for incidents: intake (web, API, batch, public), every state move, comments, evidence, escalation.

Each service checks the actor's role and jurisdiction, changes the case, appends its timeline row and
writes the audit entry in one transaction. Pages, the API and the bulk actions call these and nothing else.
"""

from amanat.incidents.services.cases import (
    BULK_ACTIONS,
    BulkResult,
    incident_assign,
    incident_close,
    incident_comment_add,
    incident_evidence_add,
    incident_merge,
    incident_moderate,
    incident_refer,
    incident_reject,
    incident_reopen,
    incident_resolve,
    incident_start,
    incident_triage,
    incidents_bulk_apply,
)
from amanat.incidents.services.escalation import (
    incidents_escalate_overdue,
    incidents_sync_unreachable_stations,
)
from amanat.incidents.services.intake import (
    MAX_DESCRIPTION,
    MAX_EVIDENCE_FILES,
    BatchResult,
    EvidenceUpload,
    IntakeResult,
    ReportInput,
    incident_report,
    incident_report_public,
    incidents_report_batch,
)
from amanat.incidents.services.taxonomy import (
    deadline_hours,
    incident_category_create,
    incident_category_update,
    incident_taxonomy_forget,
    intake_taxonomy,
    response_deadline_set,
)

__all__ = [
    "BULK_ACTIONS",
    "MAX_DESCRIPTION",
    "MAX_EVIDENCE_FILES",
    "BatchResult",
    "BulkResult",
    "EvidenceUpload",
    "IntakeResult",
    "ReportInput",
    "deadline_hours",
    "incident_assign",
    "incident_category_create",
    "incident_category_update",
    "incident_close",
    "incident_comment_add",
    "incident_evidence_add",
    "incident_merge",
    "incident_moderate",
    "incident_refer",
    "incident_reject",
    "incident_reopen",
    "incident_report",
    "incident_report_public",
    "incident_resolve",
    "incident_start",
    "incident_taxonomy_forget",
    "incident_triage",
    "incidents_bulk_apply",
    "incidents_escalate_overdue",
    "incidents_report_batch",
    "incidents_sync_unreachable_stations",
    "intake_taxonomy",
    "response_deadline_set",
]
