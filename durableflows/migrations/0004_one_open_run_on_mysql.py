"""One open run per workflow id on MariaDB and MySQL, which cannot build the partial unique index.

Django skips ``df_one_open_run_per_workflow_id`` (a unique constraint with a condition) on these
databases, and without it two concurrent starts of one id could both open a run. The equivalent
there: a stored generated column that holds the workflow id while the run is open (NULL once it
closes) under a plain unique index. Other databases are left as they are.
"""

from django.db import migrations

TABLE = "durableflows_workflowrun"
COLUMN = "open_workflow_id"
INDEX = "df_open_run_workflow_id"
OPEN_STATUSES = ("pending", "running")


def add_open_workflow_id(apps, schema_editor):
    if schema_editor.connection.vendor != "mysql":
        return
    quote = schema_editor.quote_name
    statuses = ", ".join(f"'{status}'" for status in OPEN_STATUSES)
    schema_editor.execute(
        f"ALTER TABLE {quote(TABLE)} ADD COLUMN {quote(COLUMN)} varchar(255) GENERATED ALWAYS AS "
        f"(CASE WHEN {quote('status')} IN ({statuses}) THEN {quote('workflow_id')} END) STORED, "
        f"ADD CONSTRAINT {quote(INDEX)} UNIQUE ({quote(COLUMN)})"
    )


def drop_open_workflow_id(apps, schema_editor):
    if schema_editor.connection.vendor != "mysql":
        return
    quote = schema_editor.quote_name
    schema_editor.execute(f"ALTER TABLE {quote(TABLE)} DROP INDEX {quote(INDEX)}, DROP COLUMN {quote(COLUMN)}")


class Migration(migrations.Migration):
    dependencies = [("durableflows", "0003_list_indexes")]

    operations = [migrations.RunPython(add_open_workflow_id, drop_open_workflow_id, atomic=False)]
