from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from amanat.audit.models import AuditEntry
from amanat.audit.services import audit_chain_verify


def _tamper(sql: str, params: list[Any]) -> None:
    """Change the table behind the application's back, as someone with database access could."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_append_only")


def test_chain_of_world_verifies(world: Any) -> None:
    assert AuditEntry.all_entries.count() >= 6
    assert list(audit_chain_verify()) == []
    call_command("verify_audit")


def test_edited_entry_is_named(world: Any) -> None:
    target = AuditEntry.all_entries.order_by("seq")[2]
    _tamper("UPDATE audit_auditentry SET entity_label = %s WHERE seq = %s", ["forged", target.seq])
    with pytest.raises(CommandError, match=rf"entry {target.seq}\b.*edited"):
        call_command("verify_audit")


def test_deleted_entry_is_named(world: Any) -> None:
    target = AuditEntry.all_entries.order_by("seq")[1]
    _tamper("DELETE FROM audit_auditentry WHERE seq = %s", [target.seq])
    with pytest.raises(CommandError, match=rf"entry {target.seq}\b"):
        call_command("verify_audit")


def test_deleted_newest_entry_is_detected(world: Any) -> None:
    last = AuditEntry.all_entries.order_by("-seq").first()
    assert last is not None
    _tamper("DELETE FROM audit_auditentry WHERE seq = %s", [last.seq])
    with pytest.raises(CommandError, match=rf"entry {last.seq}\b"):
        call_command("verify_audit")


def test_application_cannot_update_or_delete(world: Any) -> None:
    with pytest.raises(TypeError):
        AuditEntry.all_entries.all().update(entity_label="x")
    with pytest.raises(TypeError):
        AuditEntry.all_entries.all().delete()


def test_reordered_entries_are_named(world: Any) -> None:
    first, second = AuditEntry.all_entries.order_by("seq")[1], AuditEntry.all_entries.order_by("seq")[3]
    parked = 10**12  # a free sequence number, to swap the two rows' places
    _tamper("UPDATE audit_auditentry SET seq = %s WHERE seq = %s", [parked, first.seq])
    _tamper("UPDATE audit_auditentry SET seq = %s WHERE seq = %s", [first.seq, second.seq])
    _tamper("UPDATE audit_auditentry SET seq = %s WHERE seq = %s", [second.seq, parked])
    assert AuditEntry.all_entries.get(seq=first.seq).hash == second.hash

    problems = list(audit_chain_verify())

    assert [problem.seq for problem in problems] == [first.seq]
    assert "reordered" in problems[0].reason
    with pytest.raises(CommandError, match=rf"entry {first.seq}\b.*reordered"):
        call_command("verify_audit")


def test_bulk_audit_appends_one_entry_per_entity_and_chain_verifies(world: Any, admin: Any) -> None:
    from amanat.audit.services import audit_record_many
    from amanat.geography.models import PollingStation
    from amanat.scoping import unscoped

    with unscoped():
        stations = list(PollingStation.objects.select_related("county").order_by("code"))
    before = AuditEntry.all_entries.count()
    assert audit_record_many(actor=admin, action="update", entities=stations) == len(stations)
    assert AuditEntry.all_entries.count() == before + len(stations)
    newest = AuditEntry.all_entries.order_by("-seq").first()
    assert newest is not None and newest.entity_id == str(stations[-1].pk)
    assert newest.county_id == stations[-1].county_id
    assert list(audit_chain_verify()) == []


def test_non_canonical_ipv6_address_keeps_the_chain_intact(world: Any) -> None:
    from amanat.audit.services import audit_record

    entry = audit_record(actor=None, action="login_failed", ip_address="2001:DB8:0:0:0:0:0:1")
    assert entry.ip_address == "2001:db8::1"
    assert list(audit_chain_verify()) == []


def test_verify_ignores_entries_appended_after_it_read_the_head(world: Any) -> None:
    """An append committed while verify walks is not 'missing' (a nightly check on a live system)."""
    from amanat.audit.models import AuditChainHead
    from amanat.audit.services import audit_record

    head = AuditChainHead.objects.get(id=1)
    audit_record(actor=None, action="login_failed")
    # Rewind the head as verify would have read it before the append; the newer entry lies beyond it.
    AuditChainHead.objects.filter(id=1).update(last_seq=head.last_seq, last_hash=head.last_hash)
    assert list(audit_chain_verify()) == []


def test_the_digest_cut_in_parts_is_the_digest(world: Any) -> None:
    """PostgreSQL chains an entry from these parts: put back together, they hash to `entry_digest`."""
    import hashlib

    from amanat.audit.services import audit_record, digest_parts, entry_digest

    entry = audit_record(
        actor=None,
        action="update",
        entity_type="test.Thing",
        entity_id=7,
        entity_label='«نام» "quoted" \\ ‌ZWNJ',
        before={"b": [1, 2.5, None], "z": "ی"},
        after={"a": {"nested": True}},
        ip_address="2001:DB8::1",
    )
    stored = AuditEntry.all_entries.get(seq=entry.seq)
    part0, part1, part2, part3 = digest_parts(stored)
    at = stored.created_at.isoformat(timespec="microseconds")
    joined = f"{part0}{at}{part1}{stored.prev_hash}{part2}{stored.seq}{part3}"
    assert hashlib.sha256(joined.encode()).hexdigest() == entry_digest(stored) == stored.hash == entry.hash
    assert list(audit_chain_verify()) == []


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs concurrent connections (CI runs PostgreSQL)"
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_make_one_unbroken_chain_in_time_order() -> None:
    import threading

    from django.db import connections, transaction

    from amanat.audit.services import audit_record

    start = threading.Barrier(6)

    def append(worker: int) -> None:
        try:
            start.wait(timeout=10)
            for n in range(15):
                with transaction.atomic():
                    audit_record(
                        actor=None, action="update", entity_type="test.Race", entity_id=f"{worker}-{n}"
                    )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=append, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    entries = list(AuditEntry.all_entries.filter(entity_type="test.Race").order_by("seq"))
    assert len(entries) == 90
    assert list(audit_chain_verify()) == []
    times = [e.created_at for e in AuditEntry.all_entries.order_by("seq")]
    assert times == sorted(times)
