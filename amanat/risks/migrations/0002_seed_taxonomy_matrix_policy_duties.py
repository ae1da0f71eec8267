"""Seed the reference data an atlas needs: the risk taxonomy, a 5x5 matrix, the policy and duties.

All of it is configuration the national administrator may edit afterwards.
"""

from typing import Any

from django.db import migrations

CATEGORIES = [
    # (code, group, Persian name, English name)
    ("legal-framework", "internal", "چارچوب قانونی و مقررات", "Legal framework and regulations"),
    ("planning", "internal", "برنامه‌ریزی و زمان‌بندی", "Planning and timetable"),
    ("training", "internal", "آموزش عوامل اجرایی و نظارتی", "Training of election staff"),
    ("voter-registration", "internal", "ثبت‌نام و احراز هویت رأی‌دهندگان", "Voter registration and identification"),
    ("logistics", "internal", "لجستیک و زیرساخت", "Logistics and infrastructure"),
    ("communication-lines", "internal", "خطوط ارتباطی شعب", "Polling-station communication lines"),
    ("electronic-systems", "internal", "سامانه‌ها و تجهیزات الکترونیکی", "Electronic systems and devices"),
    ("counting-results", "internal", "شمارش و اعلام نتایج", "Counting and results"),
    ("complaints", "internal", "رسیدگی به شکایات", "Complaints handling"),
    ("security-environment", "external", "محیط امنیتی", "Security environment"),
    ("natural-hazards", "external", "مخاطرات طبیعی و آب‌وهوایی", "Natural hazards and weather"),
    ("public-order", "external", "نظم عمومی", "Public order"),
    ("cyber-threats", "external", "تهدیدات سایبری علیه سامانه‌های انتخاباتی", "Cyber threats to election systems"),
    ("power-utilities", "external", "قطع برق و خدمات عمومی", "Power and utility outages"),
    ("access-roads", "external", "دسترسی جغرافیایی و راه‌ها", "Geographic access and roads"),
]

BANDS = [
    # (code, Persian, English, colour, rank, weight, lowest score)
    ("low", "کم", "Low", "#2e7d32", 1, 0, 1),
    ("medium", "متوسط", "Medium", "#f9a825", 2, 2, 5),
    ("high", "زیاد", "High", "#ef6c00", 3, 5, 10),
    ("extreme", "بحرانی", "Extreme", "#c62828", 4, 10, 17),
]

DUTIES = [
    ("normal", "جلسات منظم کمیته طبق تقویم دستورالعمل", "Regular committee meetings on the instruction's calendar"),
    ("normal", "بازدید از آمادگی شعب پیش از روز رأی‌گیری", "Visit stations to check readiness before voting day"),
    ("important", "جلسات هفتگی کمیته از ۳۰ روز مانده به رأی‌گیری", "Weekly committee meetings from 30 days out"),
    ("important", "آزمون سرتاسری خط ارتباطی همه شعب", "End-to-end test of every station's communication line"),
    ("important", "برق اضطراری برای شعب پرجمعیت", "Backup power at the busiest stations"),
    ("sensitive", "جلسات روزانه کمیته از ۱۴ روز مانده به رأی‌گیری", "Daily committee meetings from 14 days out"),
    ("sensitive", "خط ارتباطی دوم (پشتیبان) در همه شعب", "A second (backup) communication link at every station"),
    ("sensitive", "حفاظت فیزیکی از خطوط و تجهیزات همه شعب", "Physical protection of lines and equipment at every station"),
    ("sensitive", "گزارش روزانه وضعیت به استان", "A daily situation report to the province"),
]


def seed(apps: Any, schema_editor: Any) -> None:
    RiskCategory = apps.get_model("risks", "RiskCategory")  # noqa: N806
    RiskMatrix = apps.get_model("risks", "RiskMatrix")  # noqa: N806
    RiskBand = apps.get_model("risks", "RiskBand")  # noqa: N806
    RiskMatrixCell = apps.get_model("risks", "RiskMatrixCell")  # noqa: N806
    ClassificationPolicy = apps.get_model("risks", "ClassificationPolicy")  # noqa: N806
    DutyTemplate = apps.get_model("risks", "DutyTemplate")  # noqa: N806

    for position, (code, group, name, name_en) in enumerate(CATEGORIES):
        RiskCategory.objects.get_or_create(
            code=code, defaults={"group": group, "name": name, "name_en": name_en, "position": position}
        )
    matrix, created = RiskMatrix.objects.get_or_create(
        name="۵×۵", defaults={"likelihood_levels": 5, "impact_levels": 5, "is_default": True}
    )
    if created:
        bands = [
            RiskBand.objects.create(
                matrix=matrix, code=code, name=name, name_en=name_en, colour=colour, rank=rank, weight=weight
            )
            for code, name, name_en, colour, rank, weight, _lowest in BANDS
        ]
        lowest = [row[6] for row in BANDS]
        for likelihood in range(1, 6):
            for impact in range(1, 6):
                score = likelihood * impact
                band = bands[max(i for i, low in enumerate(lowest) if score >= low)]
                RiskMatrixCell.objects.create(
                    matrix=matrix, likelihood=likelihood, impact=impact, score=score, band=band
                )
    if not ClassificationPolicy.objects.exists():
        ClassificationPolicy.objects.create()
    for position, (level, text, text_en) in enumerate(DUTIES):
        DutyTemplate.objects.get_or_create(level=level, text=text, defaults={"text_en": text_en, "position": position})


class Migration(migrations.Migration):
    dependencies = [("risks", "0001_atlas_risks_classification")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
