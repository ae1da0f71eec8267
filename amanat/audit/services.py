"""Writing to the audit log. Every other app's services call `audit_record` inside their transaction."""

import hashlib
import ipaddress
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone
from django.utils.ipv6 import clean_ipv6_address

from amanat.audit.models import AuditAction, AuditChainHead, AuditEntry
from amanat.sql import insert_parts, marks

GENESIS_HASH = "0" * 64


def _json_safe(value: Any) -> Any:
    """Round-trip through JSON so that what is hashed is exactly what the database returns."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False))


def _canonical_ip(address: str | None) -> str | None:
    """The address as the database will store it (IPv6 compressed, lower case), so the hash matches."""
    if not address:
        return None
    try:
        return clean_ipv6_address(address) if ":" in address else str(ipaddress.ip_address(address))
    except (ValueError, ValidationError):
        return None


def entry_digest(entry: AuditEntry) -> str:
    """SHA-256 over the entry's canonical content, its sequence number and the previous hash."""
    canonical = _canonical_json(
        entry,
        seq=entry.seq,
        created_at=entry.created_at.isoformat(timespec="microseconds"),
        prev_hash=entry.prev_hash,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _canonical_json(entry: AuditEntry, *, seq: Any, created_at: str, prev_hash: str) -> str:
    content = {
        "seq": seq,
        "created_at": created_at,
        "actor_id": entry.actor_id,
        "actor_label": entry.actor_label,
        "action": entry.action,
        "entity_type": entry.entity_type,
        "entity_id": entry.entity_id,
        "entity_label": entry.entity_label,
        "province_id": entry.province_id,
        "county_id": entry.county_id,
        "before": entry.before,
        "after": entry.after,
        "ip_address": entry.ip_address,
        "prev_hash": prev_hash,
    }
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def snapshot(instance: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The audited state of a model instance: concrete field values, foreign keys as ids."""
    data: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        if fields is not None and field.name not in fields:
            continue
        if field.name in {"password"}:
            continue
        data[field.attname] = field.value_from_object(instance)
    return _json_safe(data)


def audit_record(
    *,
    actor: Any,
    action: str,
    entity: models.Model | None = None,
    entity_type: str = "",
    entity_id: str | int = "",
    entity_label: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    province_id: int | None = None,
    county_id: int | None = None,
    ip_address: str | None = None,
    actor_label: str = "",
    along: tuple[str, list[Any]] | None = None,
) -> AuditEntry:
    """Append one entry to the hash chain, in the caller's transaction (ثبت در دفتر ممیزی).

    The entry's jurisdiction (who may read it) is the entity's own `jurisdiction` unless given.
    `along` (PostgreSQL only) is SQL for common table expressions, `name AS (...)` separated by
    commas, with its parameters: they are written in the same statement as the entry, so a row and
    its audit entry take one statement. Outside a transaction that statement is its own.
    """
    if action not in AuditAction.values:
        raise ValueError(f"unknown audit action {action!r}")
    jurisdiction = getattr(entity, "jurisdiction", None)
    if province_id is None and county_id is None and jurisdiction is not None:
        province_id, county_id = jurisdiction.province_id, jurisdiction.county_id
    if entity is not None:
        entity_type = entity_type or entity._meta.label
        entity_id = entity_id or str(entity.pk)
        entity_label = entity_label or str(entity)[:300]
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    # Everything but the chaining is prepared before the head is locked: concurrent appends wait on
    # that lock until this transaction commits, so the less done while holding it, the better.
    entry = AuditEntry(
        actor_id=actor.pk if authenticated else None,
        actor_label=(actor.get_username() if authenticated else actor_label or "system")[:200],
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        entity_label=entity_label[:300],
        province_id=province_id,
        county_id=county_id,
        before=_json_safe(before),
        after=_json_safe(after),
        ip_address=_canonical_ip(ip_address),
    )
    if along is not None:
        if connection.vendor != "postgresql":
            raise ValueError("an audit entry is written along other SQL on PostgreSQL only")
        _chained_by_postgresql(entry, along=along)
        return entry
    # No savepoint: an entry that cannot be written must undo the caller's whole change anyway, and
    # a savepoint costs two statements on every audited write (most of them inside the head lock).
    with transaction.atomic(savepoint=False):
        # The head row lock orders concurrent appends; it is held only until the caller commits.
        if connection.vendor == "postgresql":
            _chained_by_postgresql(entry)
            return entry
        last_seq, last_hash = _head_locked()
        entry.seq, entry.prev_hash = last_seq + 1, last_hash
        entry.created_at = timezone.now()  # read under the lock, so times follow the sequence
        entry.hash = entry_digest(entry)
        _append_and_move_head(entry)
    return entry


# Every audited write passes here while holding the head's lock, so the statements are written out
# rather than built by the ORM on each call: the lock is held for less time, and appends queue less.
_HEAD = AuditChainHead._meta.db_table
# Stand-ins for what only the locked head decides, cut out of the canonical JSON (see digest_parts).
_SEQ, _CREATED_AT, _PREV_HASH = (f"@@{name}-{uuid.uuid4().hex}@@" for name in ("seq", "at", "prev"))


def digest_parts(entry: AuditEntry) -> tuple[str, str, str, str]:
    """The entry's canonical JSON cut around its time, previous hash and number, in that order.

    `entry_digest` is SHA-256 over part 0, the time, part 1, the previous hash, part 2, the number,
    part 3: so PostgreSQL can chain an entry inside the statement that locks the head.
    """
    canonical = _canonical_json(entry, seq=_SEQ, created_at=_CREATED_AT, prev_hash=_PREV_HASH)
    before_time, rest = canonical.split(_CREATED_AT)
    before_prev, rest = rest.split(_PREV_HASH)
    before_seq, after_seq = rest.split(f'"{_SEQ}"')
    return before_time, before_prev, before_seq, after_seq


def _chained_by_postgresql(entry: AuditEntry, *, along: tuple[str, list[Any]] | None = None) -> None:
    """Lock the head, chain, insert and move the head in one statement (with `along`'s expressions).

    The time is the database's clock under the lock, written as Python's `isoformat` writes it.
    Without a head row (a flushed database), the statement alone writes nothing: the head is made
    and the statement repeated. With `along`, it fails whole instead (its entry's number is NULL),
    so that `along`'s rows are never written without their entry.
    """
    table, columns, values = insert_parts(entry, skip=("seq", "created_at", "prev_hash", "hash"))
    parts = digest_parts(entry)
    before_sql, before_params = (f"{along[0]}, ", along[1]) if along else ("", [])
    chained = "SELECT head.* FROM (SELECT 1) AS one LEFT JOIN head ON true" if along else "SELECT * FROM head"
    sql = f"""
        WITH {before_sql}head AS (
            SELECT last_seq + 1 AS seq, last_hash AS prev_hash, clock_timestamp() AS created_at
            FROM {_HEAD} WHERE id = 1 FOR UPDATE
        ), chained AS ({chained}), hashed AS (
            SELECT seq, prev_hash, created_at, encode(sha256(convert_to(
                %s || to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')
                || %s || prev_hash || %s || seq::text || %s, 'UTF8')), 'hex') AS hash
            FROM chained
        ), appended AS (
            INSERT INTO {table} (seq, created_at, prev_hash, hash, {columns})
            SELECT seq, created_at, prev_hash, hash, {marks(values)} FROM hashed
            RETURNING seq, created_at, prev_hash, hash
        )
        UPDATE {_HEAD} SET last_seq = appended.seq, last_hash = appended.hash FROM appended WHERE id = 1
        RETURNING appended.seq, appended.created_at, appended.prev_hash, appended.hash
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, [*before_params, *parts, *values])
            row = cursor.fetchone()
    except IntegrityError:
        if along is None or connection.in_atomic_block or AuditChainHead.objects.filter(id=1).exists():
            raise  # the caller's own constraint, or a transaction that can no longer read
        row = None
    if row is None:
        AuditChainHead.objects.get_or_create(id=1)
        return _chained_by_postgresql(entry, along=along)
    entry.seq, entry.created_at, entry.prev_hash, entry.hash = row


def _head_locked() -> tuple[int, str]:
    """Lock the chain's head row (made on first use) and read where the chain ends."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT last_seq, last_hash FROM {_HEAD} WHERE id = 1{lock}")
        row = cursor.fetchone()
    if row is None:
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
        return head.last_seq, head.last_hash
    return int(row[0]), str(row[1])


def _append_and_move_head(entry: AuditEntry) -> None:
    """Insert the entry and move the head to it (the chaining done in Python, under the lock)."""
    table, columns, values = insert_parts(entry)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks(values)})", values)
        cursor.execute(
            f"UPDATE {_HEAD} SET last_seq = %s, last_hash = %s WHERE id = 1", [entry.seq, entry.hash]
        )


def audit_record_many(*, actor: Any, action: str, entities: Sequence[models.Model]) -> int:
    """Append one entry per entity (its snapshot as `after`) under one lock, for bulk writes."""
    if action not in AuditAction.values:
        raise ValueError(f"unknown audit action {action!r}")
    if not entities:
        return 0
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        seq, prev_hash = _head_locked()
        batch = []
        for entity in entities:
            jurisdiction = getattr(entity, "jurisdiction", None)
            seq += 1
            entry = AuditEntry(
                seq=seq,
                created_at=now,
                actor_id=actor.pk if authenticated else None,
                actor_label=(actor.get_username() if authenticated else "system")[:200],
                action=action,
                entity_type=entity._meta.label,
                entity_id=str(entity.pk),
                entity_label=str(entity)[:300],
                province_id=getattr(jurisdiction, "province_id", None),
                county_id=getattr(jurisdiction, "county_id", None),
                before=None,
                after=snapshot(entity),
                ip_address=None,
                prev_hash=prev_hash,
            )
            entry.hash = prev_hash = entry_digest(entry)
            batch.append(entry)
        AuditEntry.all_entries.bulk_create(batch, batch_size=1000)
        AuditChainHead.objects.filter(id=1).update(last_seq=seq, last_hash=prev_hash)
    return len(batch)


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    reason: str


def audit_chain_verify(*, chunk_size: int = 5000) -> Iterator[ChainProblem]:
    """Walk the whole chain in order; yield the first broken link (and stop there)."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    # Read the head first and walk only up to it: appends committed meanwhile are not "missing".
    head = AuditChainHead.objects.filter(id=1).first()
    last = head.last_seq if head is not None else None
    entries = AuditEntry.all_entries.order_by("seq")
    if last is not None:
        entries = entries.filter(seq__lte=last)
    for entry in entries.iterator(chunk_size=chunk_size):
        if entry.seq != expected_seq:
            yield ChainProblem(expected_seq, f"entry {expected_seq} is missing (next present is {entry.seq})")
            return
        if entry.prev_hash != expected_prev:
            yield ChainProblem(entry.seq, "does not follow the previous entry (deleted or reordered)")
            return
        if entry_digest(entry) != entry.hash:
            yield ChainProblem(entry.seq, "content does not match its hash (edited)")
            return
        expected_prev = entry.hash
        expected_seq += 1
    last_seq = expected_seq - 1
    if head is None:
        if last_seq:
            yield ChainProblem(last_seq, "the chain head is missing")
        return
    if head.last_seq != last_seq or head.last_hash != expected_prev:
        yield ChainProblem(last_seq + 1, f"entries after {last_seq} are missing (head says {head.last_seq})")
