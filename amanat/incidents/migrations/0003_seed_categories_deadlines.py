"""Seed the incident taxonomy and the default response deadlines (the national administrator edits both)."""

from typing import Any

from django.db import migrations

CATEGORIES = [
    # (code, Persian name, English name, default severity, possible offence under election law)
    ("vote-buying", "خرید و فروش رأی", "Vote buying", "high", True),
    ("ballot-tampering", "دستکاری در رأی یا تجهیزات رأی‌گیری", "Ballot or device tampering", "critical", True),
    ("multiple-voting", "رأی‌دادن تکراری یا با هویت دیگری", "Multiple voting or impersonation", "high", True),
    ("campaigning-at-station", "تبلیغات غیرقانونی در محل شعبه", "Unlawful campaigning at a station", "medium", True),
    ("intimidation", "ارعاب رأی‌دهندگان یا عوامل اجرایی", "Intimidation of voters or officials", "high", True),
    ("observer-obstruction", "ممانعت از کار ناظران", "Obstruction of observers", "medium", True),
    ("violence", "خشونت در محل شعبه", "Violence at a station", "critical", True),
    ("equipment-failure", "خرابی تجهیزات", "Equipment failure", "high", False),
    ("outage", "قطع برق یا ارتباطات", "Power or communication outage", "high", False),
    ("cyber-attack", "حمله سایبری به سامانه‌های انتخاباتی", "Cyber attack on election systems", "critical", True),
    ("procedural-error", "خطای رویه‌ای", "Procedural error", "low", False),
]

DEADLINE_HOURS = {"critical": 2, "high": 8, "medium": 24, "low": 72}


def seed(apps: Any, schema_editor: Any) -> None:
    IncidentCategory = apps.get_model("incidents", "IncidentCategory")  # noqa: N806
    ResponseDeadline = apps.get_model("incidents", "ResponseDeadline")  # noqa: N806
    for position, (code, name, name_en, severity, violation) in enumerate(CATEGORIES):
        IncidentCategory.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "name_en": name_en,
                "default_severity": severity,
                "is_violation": violation,
                "position": position,
            },
        )
    for severity, hours in DEADLINE_HOURS.items():
        ResponseDeadline.objects.get_or_create(category=None, severity=severity, defaults={"hours": hours})


class Migration(migrations.Migration):
    dependencies = [("incidents", "0002_incident_full_text_search")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
