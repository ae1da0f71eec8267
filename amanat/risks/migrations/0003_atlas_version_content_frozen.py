"""Refuse, inside the database, any change to what a submitted atlas version holds.

A version's review (status, reviewer, note) is written once after submission; its content, number,
author and time never change. The services never try; this makes a stray query fail loudly too.
"""

from typing import Any

from django.db import migrations

FROZEN = ("content", "number", "atlas_id", "submitted_by_id", "submitted_at", "note", "county_id", "province_id")

POSTGRESQL = f"""
CREATE OR REPLACE FUNCTION risks_atlas_version_frozen() RETURNS trigger AS $$
BEGIN
    IF {" OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in FROZEN)} THEN
        RAISE EXCEPTION 'a submitted atlas version cannot be changed';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER risks_atlas_version_frozen
    BEFORE UPDATE ON risks_atlasversion
    FOR EACH ROW EXECUTE FUNCTION risks_atlas_version_frozen();
"""

SQLITE = f"""
CREATE TRIGGER risks_atlas_version_frozen
    BEFORE UPDATE OF {", ".join(FROZEN)} ON risks_atlasversion
    WHEN {" OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in FROZEN)}
BEGIN
    SELECT RAISE(ABORT, 'a submitted atlas version cannot be changed');
END;
"""


def forwards(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE)


def backwards(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            "DROP TRIGGER IF EXISTS risks_atlas_version_frozen ON risks_atlasversion;"
            "DROP FUNCTION IF EXISTS risks_atlas_version_frozen();"
        )
    elif vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS risks_atlas_version_frozen;")


class Migration(migrations.Migration):
    dependencies = [("risks", "0002_seed_taxonomy_matrix_policy_duties")]
    operations = [migrations.RunPython(forwards, backwards)]
