"""Load the demonstration set: real geography, synthetic stations, demo users and a demo election.

Lives in `reports`, the last app, because it touches every other one. Idempotent: running it
again keeps existing data and creates only what is missing.
"""

import datetime as dt
import os
import random
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from amanat.accounts.models import Organisation, OrganisationKind, User
from amanat.accounts.roles import Role
from amanat.accounts.services import organisation_create, user_create
from amanat.committees.models import AttendanceStatus, Committee, Meeting, MemberRole
from amanat.committees.services import (
    attendance_record,
    committee_member_add,
    committees_create_for_event,
    decision_record,
    instruction_create,
    minutes_save,
)
from amanat.elections.models import ContestKind, ElectionEvent
from amanat.elections.services import contest_add, election_event_create
from amanat.geography.models import County, PollingStation, Province
from amanat.incidents import services as incident_services
from amanat.incidents.models import Incident, IncidentCategory
from amanat.readiness.models import ReadinessItem
from amanat.readiness.services import ReadinessRow, readiness_items_create_defaults, readiness_upload
from amanat.risks.models import Atlas, CountyClassification, RiskCategory, SecurityLevel
from amanat.risks.services import (
    atlas_open,
    atlas_review,
    atlas_submit,
    county_classify,
    mitigation_add,
    past_election_record,
    risk_acceptance_approve,
    risk_create,
    security_level_decide,
)
from amanat.scoping import unscoped

DEMO_PROVINCE_CODE = "23"  # Tehran
DEMO_COUNTY_CODE = "2302"  # Damavand (دماوند), a county of Tehran province
DEMO_PASSWORD = os.getenv("AMANAT_DEMO_PASSWORD", "amanat-demo-1405")


class Command(BaseCommand):
    help = "Load real geography, synthetic stations, demo users (one per level) and a demo election event."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--stations", type=int, default=60_000, help="synthetic stations to generate")

    def handle(self, *args: Any, stations: int, **options: Any) -> None:
        call_command("import_geography", "iran", stdout=self.stdout)
        call_command("generate_stations", total=stations, stdout=self.stdout)
        with unscoped(), transaction.atomic():
            province = Province.objects.get(code=DEMO_PROVINCE_CODE)
            county = (
                County.objects.filter(code=DEMO_COUNTY_CODE).first()
                or province.counties.order_by("code").first()
            )
            admin = User.objects.filter(username="admin").first()
            if admin is None:
                admin = User.objects.create_superuser(
                    "admin", email="admin@example.invalid", password=DEMO_PASSWORD, role=Role.ADMINISTRATOR
                )
            national_org = self._organisation(
                admin, "ستاد انتخابات کشور", "National election headquarters", OrganisationKind.ELECTION_HQ
            )
            province_org = self._organisation(
                admin,
                f"استانداری {province.name}",
                "Provincial governorate",
                OrganisationKind.GOVERNORATE,
                province=province,
            )
            county_org = self._organisation(
                admin,
                f"فرمانداری {county.name}",
                "County governorate",
                OrganisationKind.GOVERNORATE,
                province=province,
                county=county,
            )
            self._organisation(
                admin,
                f"مخابرات {county.name}",
                "County telecommunications",
                OrganisationKind.TELECOM,
                province=province,
                county=county,
            )
            self._organisation(
                admin,
                f"انتظامی {county.name}",
                "County police",
                OrganisationKind.POLICE,
                province=province,
                county=county,
            )
            if admin.organisation_id is None:
                User.objects.filter(pk=admin.pk).update(organisation=national_org)
            self._user(admin, "national", Role.ADMINISTRATOR, national_org)
            self._user(admin, "auditor", Role.AUDITOR, national_org)
            self._user(admin, "province", Role.CHAIR, province_org, province=province)
            self._user(admin, "county", Role.SECRETARY, county_org, province=province, county=county)
            event = self._event(admin)
            self._committees(admin, event, county, county_org)
            self._atlas(admin, event, province, county)
            self._readiness(admin, event, province)
            self._incidents(admin, province, county)
        self.stdout.write(self.style.SUCCESS("demo data ready"))
        self.stdout.write(
            f"logins (password for all: {DEMO_PASSWORD}):\n"
            "  admin     superuser, national administrator\n"
            "  national  national administrator\n"
            "  auditor   national auditor\n"
            f"  province  chair, {province.name} province\n"
            f"  county    secretary, {county.name} county"
        )

    def _organisation(self, admin: User, name: str, name_en: str, kind: str, **where: Any) -> Organisation:
        existing = Organisation.objects.filter(name=name, **where).first()
        return existing or organisation_create(actor=admin, name=name, name_en=name_en, kind=kind, **where)

    def _user(self, admin: User, username: str, role: str, organisation: Organisation, **where: Any) -> None:
        if not User.objects.filter(username=username).exists():
            user_create(
                actor=admin,
                username=username,
                password=DEMO_PASSWORD,
                role=role,
                organisation=organisation,
                **where,
            )

    def _event(self, admin: User) -> ElectionEvent:
        existing = ElectionEvent.objects.filter(is_demo=True).first()
        if existing is not None:
            return existing
        voting_day = timezone.localdate() + dt.timedelta(days=110)
        event = election_event_create(
            actor=admin,
            name="انتخابات نمایشی شوراها و میان‌دوره‌ای خبرگان (داده نمایشی)",
            name_en="Demo: councils and Assembly of Experts by-election (demonstration data)",
            voting_day=voting_day,
            is_demo=True,
        )
        contest_add(actor=admin, event=event, kind=ContestKind.CITY_COUNCIL)
        contest_add(actor=admin, event=event, kind=ContestKind.VILLAGE_COUNCIL)
        tehran_counties = County.objects.filter(province__code=DEMO_PROVINCE_CODE)
        contest_add(
            actor=admin,
            event=event,
            kind=ContestKind.ASSEMBLY_OF_EXPERTS,
            title="میان‌دوره‌ای خبرگان رهبری، استان تهران",
            counties=tehran_counties,
        )
        return event

    def _committees(
        self, admin: User, event: ElectionEvent, county: County, county_org: Organisation
    ) -> None:
        """The national instruction, every committee, and a first held meeting of the demo county's."""
        if Committee.objects.filter(event=event).exists():
            return
        instruction = instruction_create(
            actor=admin,
            event=event,
            title="دستورالعمل کمیته‌های امنیت انتخابات (نمایشی)",
            duties="\n".join(
                [
                    "شناسایی تهدیدات، آسیب‌ها و چالش‌های پیش، حین و پس از انتخابات",
                    "تهیه اطلس و شناسنامه امنیت انتخابات شهرستان",
                    "پیگیری آمادگی خطوط ارتباطی و تجهیزات شعب اخذ رأی",
                    "رسیدگی به تخلفات انتخاباتی بدون تبعیض و طبق قانون",
                    "گزارش روزانه وضعیت به مراجع بالادستی",
                ]
            ),
        )
        # Start the calendars three weeks back, so the demo county has meetings already due.
        today = timezone.localdate()
        committees_create_for_event(
            actor=admin,
            event=event,
            instruction=instruction,
            today=max(event.opens_on, today - dt.timedelta(days=21)),
        )
        committee = Committee.objects.get(event=event, county=county)
        secretary = User.objects.get(username="county")
        seat = committee_member_add(
            actor=admin,
            committee=committee,
            organisation=county_org,
            role=MemberRole.SECRETARY,
            representative=secretary,
        )
        telecom = Organisation.objects.get(name=f"مخابرات {county.name}")
        police = Organisation.objects.get(name=f"انتظامی {county.name}")
        others = [
            committee_member_add(actor=admin, committee=committee, organisation=org)
            for org in (telecom, police)
        ]
        meeting = (
            Meeting.objects.filter(committee=committee, scheduled_on__lte=today)
            .order_by("scheduled_on")
            .first()
        )
        if meeting is None:
            return
        attendance_record(
            actor=secretary,
            meeting=meeting,
            entries=[
                (seat, AttendanceStatus.PRESENT, ""),
                (others[0], AttendanceStatus.PRESENT, ""),
                (others[1], AttendanceStatus.REPRESENTED, "معاون انتظامی"),
            ],
        )
        minutes_save(
            actor=secretary,
            meeting=meeting,
            text="جلسه با حضور اعضا تشکیل شد. وضعیت آمادگی شعب و خطوط ارتباطی بررسی شد.",
        )
        decision_record(
            actor=secretary,
            meeting=meeting,
            text="تکمیل فیبر نوری شعب بخش مرکزی تا نیمه اسفند",
            responsible=telecom,
            due_on=meeting.scheduled_on + dt.timedelta(days=10),
        )
        decision_record(
            actor=secretary,
            meeting=meeting,
            text="بازدید امنیتی از محل نگهداری تجهیزات",
            responsible=police,
            due_on=meeting.scheduled_on + dt.timedelta(days=30),
        )

    def _atlas(self, admin: User, event: ElectionEvent, province: Province, county: County) -> None:
        """The demo county's atlas: version 1 approved, version 2 awaiting the province; levels decided."""
        if Atlas.objects.filter(event=event).exists():
            return
        secretary = User.objects.get(username="county")
        chair = User.objects.get(username="province")
        categories = {c.code: c for c in RiskCategory.objects.all()}
        atlas = atlas_open(actor=secretary, event=event, county=county)
        demo_risks = [
            # (kind, phase, category, title, place or system, likelihood, impact, treatment)
            (
                "vulnerability",
                "before",
                "communication-lines",
                "تأخیر در تکمیل فیبر نوری شعب روستایی",
                "شعب بخش‌های روستایی",
                4,
                4,
                "mitigate",
            ),
            (
                "threat",
                "during",
                "power-utilities",
                "قطع برق شبکه در ساعات اوج رأی‌گیری",
                "شعب مرکز شهرستان",
                3,
                4,
                "mitigate",
            ),
            (
                "threat",
                "during",
                "cyber-threats",
                "حمله منع سرویس به خط ارتباطی سامانه رأی‌گیری",
                "سامانه رأی‌گیری الکترونیکی",
                2,
                5,
                "transfer",
            ),
            (
                "challenge",
                "before",
                "training",
                "کمبود عوامل اجرایی آموزش‌دیده برای دستگاه‌های جدید",
                "همه شعب",
                3,
                3,
                "mitigate",
            ),
            (
                "threat",
                "during",
                "natural-hazards",
                "بارش برف و بسته شدن راه شعب کوهستانی",
                "جاده‌های کوهستانی",
                3,
                3,
                "avoid",
            ),
            (
                "challenge",
                "after",
                "complaints",
                "حجم بالای شکایات در زمان اعلام نتایج",
                "هیئت اجرایی شهرستان",
                2,
                2,
                "accept",
            ),
        ]
        risks = [
            risk_create(
                actor=secretary,
                atlas=atlas,
                kind=kind,
                phase=phase,
                category=categories[code],
                title=title,
                location=place,
                likelihood=likelihood,
                impact=impact,
                treatment=treatment,
            )
            for kind, phase, code, title, place, likelihood, impact, treatment in demo_risks
        ]
        risk_acceptance_approve(actor=chair, risk=risks[-1])
        telecom = Organisation.objects.get(name=f"مخابرات {county.name}")
        mitigation_add(
            actor=secretary,
            risk=risks[0],
            title="خط ارتباطی پشتیبان (رادیویی) برای شعب روستایی",
            responsible=telecom,
            due_on=event.voting_day - dt.timedelta(days=20),
        )
        version = atlas_submit(actor=secretary, atlas=atlas, note="نسخه نخست اطلس شهرستان")
        atlas_review(actor=chair, version=version, approve=True, note="تأیید شد.")
        neighbours = list(province.counties.exclude(pk=county.pk).order_by("code")[:2])
        if neighbours:
            past_election_record(
                actor=chair,
                county=neighbours[0],
                held_on=event.voting_day - dt.timedelta(days=4 * 365),
                title="انتخابات شوراهای دوره پیشین (نمایشی)",
                was_annulled=True,
                serious_incidents=3,
                notes="ابطال انتخابات یک حوزه پس از رسیدگی به شکایات",
            )
        county_classify(event=event, actor=admin)
        security_level_decide(
            actor=chair,
            event=event,
            county=county,
            level=SecurityLevel.SENSITIVE,
            reason="شعب کوهستانی زیاد و وابستگی به یک خط ارتباطی؛ بازنگری پس از تکمیل فیبر نوری",
        )
        # A second version awaits the province's review: the review and comparison pages show it.
        risk_create(
            actor=secretary,
            atlas=atlas,
            kind="vulnerability",
            phase="during",
            category=categories["electronic-systems"],
            title="نبود دستگاه احراز هویت یدک در شعب پرجمعیت",
            location="شعب پرجمعیت مرکز شهرستان",
            likelihood=3,
            impact=4,
            treatment="mitigate",
        )
        atlas_submit(actor=secretary, atlas=atlas, note="افزودن آسیب دستگاه‌های احراز هویت")
        for neighbour in neighbours:
            recommended = CountyClassification.objects.get(event=event, county=neighbour).recommended_level
            security_level_decide(actor=chair, event=event, county=neighbour, level=recommended)

    def _readiness(self, admin: User, event: ElectionEvent, province: Province) -> None:
        """The usual checklist, due 20 days before voting, and the demo province's progress on three items.

        The statuses are SYNTHETIC (seeded), uploaded as the telecom operator and the governorate would.
        """
        if ReadinessItem.objects.filter(event=event).exists():
            return
        readiness_items_create_defaults(
            actor=admin, event=event, due_on=event.voting_day - dt.timedelta(days=20)
        )
        shares = {
            # item: (done, in progress, failed) out of 100 stations
            "line-installed": (75, 15, 3),
            "devices-delivered": (50, 20, 0),
            "backup-power": (20, 30, 5),
        }
        picker = random.Random(1405)
        rows = []
        codes = (
            PollingStation.objects.filter(county__province=province)
            .order_by("code")
            .values_list("code", flat=True)
        )
        for line, (code, (item, (done, progress, failed))) in enumerate(
            ((code, share) for code in codes for share in shares.items()), start=2
        ):
            roll = picker.randrange(100)
            if roll < done:
                status = "done"
            elif roll < done + progress:
                status = "in_progress"
            elif roll < done + progress + failed:
                status = "failed"
            else:
                continue
            rows.append(ReadinessRow(line, code, item, status, "داده نمایشی" if status == "done" else ""))
        readiness_upload(actor=admin, event=event, rows=rows, source="demo (synthetic)")

    def _incidents(self, admin: User, province: Province, county: County) -> None:
        """SYNTHETIC reports in the demo county and its province, at every step of handling.

        Each has a fixed idempotency key; running the command again leaves them as they are.
        """
        if Incident.objects.filter(idempotency_key__startswith="demo-incident-").exists():
            return
        police = Organisation.objects.filter(county=county, kind=OrganisationKind.POLICE).first()
        governorate = Organisation.objects.filter(county=county, kind=OrganisationKind.GOVERNORATE).first()
        chair = User.objects.get(username="province")
        now = timezone.now()
        picker = random.Random(1405)
        stations = list(PollingStation.objects.filter(county=county).order_by("code")[:20])
        others = list(County.objects.filter(province=province).exclude(pk=county.pk).order_by("code")[:6])
        plans = [
            # (category, description, steps)
            (
                "vote-buying",
                "گزارش توزیع کارت هدیه میان رأی‌دهندگان در نزدیکی شعبه",
                ["triage", "assign", "start", "refer"],
            ),
            (
                "campaigning-at-station",
                "نصب پوستر تبلیغاتی در فاصلهٔ کمتر از حد مجاز از شعبه",
                ["triage", "assign", "start", "resolve", "close"],
            ),
            (
                "equipment-failure",
                "دستگاه احراز هویت شعبه روشن نمی‌شود",
                ["triage", "assign", "start", "resolve"],
            ),
            ("outage", "قطع برق محله و خاموشی تجهیزات شعبه به مدت ۲۰ دقیقه", ["triage", "assign"]),
            ("observer-obstruction", "جلوگیری از ورود ناظر معرفی‌شده به محل شعبه", ["triage"]),
            ("procedural-error", "ثبت نشدن ساعت شروع رأی‌گیری در صورت‌جلسه", []),
            ("intimidation", "تهدید لفظی یکی از عوامل اجرایی شعبه", ["triage", "assign", "start"]),
            ("cyber-attack", "تلاش‌های مکرر ورود ناموفق به سامانهٔ شمارش", ["triage", "assign"]),
        ]
        for number in range(24):
            category, description, steps = plans[number % len(plans)]
            station = stations[number % len(stations)] if stations and number % 8 != 5 else None
            place = county if station is not None or not others else others[number % len(others)]
            report = incident_services.ReportInput(
                category_code=category,
                occurred_at=now - dt.timedelta(hours=picker.randint(2, 240)),
                description=f"{description} (داده نمایشی)",
                station_code=station.code if station is not None else "",
                county_code=place.code,
                address="" if station is not None else "نشانی نمایشی",
                idempotency_key=f"demo-incident-{number}",
            )
            result = incident_services.incident_report(actor=admin, report=report, now=now)
            if not result.created:
                continue
            incident = result.incident
            for step in steps:
                if step == "triage":
                    incident = incident_services.incident_triage(actor=admin, incident=incident)
                elif step == "assign":
                    organisation = police if category in {"vote-buying", "intimidation"} else governorate
                    if organisation is None or incident.county_id != county.pk:
                        break
                    incident = incident_services.incident_assign(
                        actor=admin, incident=incident, organisation=organisation
                    )
                elif step == "start":
                    incident = incident_services.incident_start(actor=admin, incident=incident)
                elif step == "refer":
                    incident = incident_services.incident_refer(
                        actor=admin,
                        incident=incident,
                        authority="دادسرای عمومی و انقلاب",
                        case_number=f"۱۴۰۵-{number:04d}",
                    )
                elif step == "resolve":
                    incident = incident_services.incident_resolve(
                        actor=admin, incident=incident, resolution="رسیدگی و رفع شد (داده نمایشی)"
                    )
                elif step == "close":
                    incident = incident_services.incident_close(actor=chair, incident=incident)
        if stations and not Incident.objects.filter(channel="public").exists():
            incident_services.incident_report_public(
                county=county,
                station_code=stations[0].code,
                category=IncidentCategory.objects.get(code="campaigning-at-station"),
                occurred_at=now - dt.timedelta(hours=3),
                description="توزیع بروشور تبلیغاتی در صف رأی‌دهندگان (گزارش مردمی نمایشی)",
                reporter_name="",
                reporter_contact="",
            )
