from typing import Any

from django.db import migrations


def create_head(apps: Any, schema_editor: Any) -> None:
    # Appends made in one statement with the row they audit need the head to exist beforehand.
    # (Any earlier append made it, so on a database with entries this does nothing.)
    apps.get_model("audit", "AuditChainHead").objects.get_or_create(id=1)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_trigger")]

    operations = [migrations.RunPython(create_head, migrations.RunPython.noop)]
