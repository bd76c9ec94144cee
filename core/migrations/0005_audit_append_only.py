"""The audit log is append-only in the database too (issue 33): on PostgreSQL a trigger refuses every UPDATE
and DELETE of a row of core_auditlog, whoever sends it (the application, a shell, a SQL console). On SQLite
(the embedded demo) the application's rule stays: no service updates or deletes audit rows and the admin
shows them read-only.

TRUNCATE is left alone: it needs the table's owner (the application's database role should not own its
tables in production), and the test suite empties tables with it between tests."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION core_auditlog_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % of core_auditlog refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
DROP TRIGGER IF EXISTS core_auditlog_append_only ON core_auditlog;
CREATE TRIGGER core_auditlog_append_only BEFORE UPDATE OR DELETE ON core_auditlog
    FOR EACH ROW EXECUTE FUNCTION core_auditlog_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS core_auditlog_append_only ON core_auditlog;
DROP FUNCTION IF EXISTS core_auditlog_append_only();
"""


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # no placeholders: the % in RAISE stays as written

    return run


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0004_outbox"),
    ]

    operations = [
        migrations.RunPython(_on_postgresql(FORWARD), _on_postgresql(BACKWARD), elidable=False),
    ]
