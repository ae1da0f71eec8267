"""Full-text search over incidents with each database's own engine.

PostgreSQL: a stored generated tsvector (the 'simple' configuration: the text is already folded by
amanat.persian.normalize, so no language stemming is wanted) with a GIN index.
SQLite: an FTS5 table over incidents_incident.search_text, kept in step by triggers. A later migration
that makes SQLite rebuild incidents_incident drops these triggers and must create them again.
"""

from django.db import migrations

POSTGRES_FORWARD = [
    "ALTER TABLE incidents_incident ADD COLUMN search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED",
    "CREATE INDEX incident_search_vector_idx ON incidents_incident USING gin (search_vector)",
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS incident_search_vector_idx",
    "ALTER TABLE incidents_incident DROP COLUMN IF EXISTS search_vector",
]
SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE incidents_incident_fts USING fts5("
    "search_text, content='incidents_incident', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER incidents_incident_fts_insert AFTER INSERT ON incidents_incident BEGIN "
    "INSERT INTO incidents_incident_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER incidents_incident_fts_delete AFTER DELETE ON incidents_incident BEGIN "
    "INSERT INTO incidents_incident_fts(incidents_incident_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER incidents_incident_fts_update AFTER UPDATE OF search_text ON incidents_incident BEGIN "
    "INSERT INTO incidents_incident_fts(incidents_incident_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO incidents_incident_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "INSERT INTO incidents_incident_fts(incidents_incident_fts) VALUES ('rebuild')",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS incidents_incident_fts_insert",
    "DROP TRIGGER IF EXISTS incidents_incident_fts_delete",
    "DROP TRIGGER IF EXISTS incidents_incident_fts_update",
    "DROP TABLE IF EXISTS incidents_incident_fts",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_incidents_cases_taxonomy_evidence")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRES_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": POSTGRES_BACKWARD, "sqlite": SQLITE_BACKWARD}),
        )
    ]
