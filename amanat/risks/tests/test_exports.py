"""The identity card PDF, checked the way a reader's program reads it (text extracted with pypdf)."""

import datetime as dt
import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone, translation
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from amanat.accounts.models import User
from amanat.accounts.roles import Role
from amanat.accounts.services import user_create
from amanat.committees.services import action_item_update
from amanat.elections.models import ElectionEvent
from amanat.risks import exports, selectors, services
from amanat.risks.models import Atlas, Risk
from conftest import PASSWORD, Committees, World, client_for

TODAY = dt.date(2026, 11, 30)


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch: Any) -> None:
    real = timezone.localdate
    monkeypatch.setattr(
        timezone, "localdate", lambda value=None, tz=None: TODAY if value is None else real(value, tz)
    )


def _pdf_text(pdf: bytes) -> str:
    """The PDF's text as pypdf extracts it, without the zero-width non-joiners extraction may drop.

    Table cells come out run together and digit runs may come out reversed: assert on words and
    on texts without digits.
    """
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages).replace("\u200c", "")


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text))


def _plain(value: str) -> str:
    return value.replace("\u200c", "")


def _fonts(pdf: bytes) -> dict[str, bool]:
    fonts: dict[str, bool] = {}
    for page in PdfReader(io.BytesIO(pdf)).pages:
        resources = page.get("/Resources")
        font_map = resources.get_object().get("/Font") if resources else None
        for ref in (font_map.get_object() if font_map else DictionaryObject()).values():
            font = ref.get_object()
            descendants = font.get("/DescendantFonts")
            described = descendants.get_object()[0].get_object() if descendants else font
            descriptor = described.get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor else DictionaryObject()
            fonts[str(font.get("/BaseFont"))] = any(
                key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")
            )
    return fonts


@pytest.fixture
def chair(admin: User, world: World) -> User:
    """The province's chair, with a name: the level history names who decided."""
    return user_create(
        actor=admin,
        username="chair_a",
        password=PASSWORD,
        role=Role.CHAIR,
        organisation=world.org_a,
        province=world.province_a,
        first_name="مریم",
        last_name="کاظمی",
    )


@pytest.fixture
def card_a1(
    atlas_a1: Atlas,
    make_risk: Callable[..., Risk],
    county_user: User,
    chair: User,
    world: World,
    event: ElectionEvent,
    committees: Committees,
) -> Any:
    """County A1: four risks over the phases, two mitigations (one done), an annulled past
    election, and a decided level that overrides the recommendation with a reason."""
    fibre = make_risk(atlas_a1, title="قطع خط فیبر نوری شعب روستایی", location="شعب بخش مرکزی")
    make_risk(atlas_a1, title="خرابی دستگاه احراز هویت", kind="threat")
    late = make_risk(atlas_a1, title="تأخیر در تحویل تجهیزات", phase="before", likelihood=5, impact=5)
    make_risk(atlas_a1, title="حجم بالای شکایات", phase="after", kind="challenge", likelihood=1, impact=2)
    done = services.mitigation_add(
        actor=county_user,
        risk=fibre,
        title="خط ارتباطی پشتیبان برای شعب روستایی",
        responsible=world.org_a1,
        due_on=dt.date(2027, 2, 1),
    )
    services.mitigation_add(
        actor=county_user,
        risk=late,
        title="تحویل زودهنگام تجهیزات به شعب",
        responsible=world.org_a1,
        due_on=dt.date(2027, 1, 15),
    )
    action_item_update(actor=county_user, item=done.action_item, status="done", note="نصب شد")
    services.past_election_record(
        actor=chair,
        county=world.county_a1,
        held_on=dt.date(2021, 6, 18),
        title="انتخابات شوراهای دوره ششم",
        was_annulled=True,
        serious_incidents=3,
        notes="ابطال یک حوزه پس از رسیدگی به شکایات",
    )
    services.security_level_decide(
        actor=chair,
        event=event,
        county=world.county_a1,
        level="sensitive",
        reason="شعب کوهستانی با یک خط ارتباطی",
    )
    return selectors.identity_card_for(user=county_user, event=event, county=world.county_a1)


def test_card_pdf_is_a_persian_a4_document_with_the_whole_card(card_a1: Any, world: World) -> None:
    with translation.override("en"):  # the reader's language does not matter: the PDF is Persian
        pdf = exports.identity_card_pdf(card=card_a1)

    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.root_object["/Lang"] == "fa"
    assert [round(float(x)) for x in reader.pages[0].mediabox[2:]] == [595, 842]  # A4 in points
    text = _pdf_text(pdf)
    words = _words(text)
    assert "شناسنامه امنیت انتخابات" in text
    assert f"استان {_plain(world.province_a.name)}" in text
    assert f"شهرستان {_plain(world.county_a1.name)}" in text
    assert "انتخابات شوراها" in text and "شوراهای اسلامی شهر" in text  # the event and its contest
    # The record: the annulled election and its note; incidents wait for their module.
    assert "انتخابات شوراهای دوره ششم" in text and "ابطال شده" in text
    assert "ابطال یک حوزه پس از رسیدگی به شکایات" in text
    assert "پس از راه‌اندازی بخش رسیدگی".replace("\u200c", "") in text
    # The heat map with its axes and the band of every cell (colour is never the only cue).
    assert {"احتمال", "پیامد", "کم", "متوسط", "زیاد", "بحرانی"} <= words
    # Top risks per phase, each under its phase.
    for title in ("قطع خط فیبر نوری شعب روستایی", "خرابی دستگاه احراز هویت", "تأخیر در تحویل تجهیزات"):
        assert title in text
    assert "حجم بالای شکایات" in text
    assert text.index("پیش از انتخابات") < text.index("تأخیر در تحویل تجهیزات") < text.index("حین انتخابات")
    assert text.index("حین انتخابات") < text.index("قطع خط فیبر نوری") < text.index("پس از انتخابات")
    assert all(label in text for label in ("آسیب", "تهدید", "چالش", "کاهش"))  # kind, treatment
    # Mitigations and their progress.
    assert "خط ارتباطی پشتیبان برای شعب روستایی" in text and "تحویل زودهنگام تجهیزات به شعب" in text
    assert "انجام شده" in text and "باز" in words
    # The level, the recommendation, the factors in Persian words, and the history with its reason.
    assert "حساس" in words and "مهم" in words and "خلاف پیشنهاد" in text
    assert "ریسک باز در رده" in text and "انتخابات پیشین در این شهرستان ابطال شده است" in text
    assert "حادثه جدی در انتخابات‌های پیشین".replace("\u200c", "") in text
    assert "شعب کوهستانی با یک خط ارتباطی" in text
    assert "مریم کاظمی" in text  # who decided
    for english in ("Sensitive", "Important", "open risk", "Before the election", "Extreme", "Mitigate"):
        assert english not in text


def test_card_pdf_embeds_the_vazirmatn_font(card_a1: Any) -> None:
    fonts = _fonts(exports.identity_card_pdf(card=card_a1))

    assert fonts and all("Vazirmatn" in name for name in fonts), fonts
    assert all(fonts.values()), f"fonts not embedded: {fonts}"
    assert any("Bold" in name for name in fonts)


def test_card_pdf_of_a_county_without_atlas_or_classification_says_so(
    outsider: User, world: World, event: ElectionEvent
) -> None:
    card = selectors.identity_card_for(user=outsider, event=event, county=world.county_b1)
    text = _pdf_text(exports.identity_card_pdf(card=card))

    assert f"شهرستان {_plain(world.county_b1.name)}" in text
    assert "اطلس این شهرستان هنوز آغاز نشده است" in text
    assert "این شهرستان هنوز سطح‌بندی نشده است".replace("\u200c", "") in text
    assert "سابقه‌ای از انتخابات پیشین ثبت نشده است".replace("\u200c", "") in text
    assert "ریسکی برای این مرحله ثبت نشده است" in text
    assert "تعیین نشده" in text


def test_card_pdf_page_answers_within_the_jurisdiction_only(
    card_a1: Any, county_user: User, outsider: User, world: World, event: ElectionEvent
) -> None:
    url = f"/atlas/events/{event.pk}/counties/{world.county_a1.pk}/card.pdf"
    response = client_for(county_user).get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'inline; filename="identity-card-{event.pk}-{world.county_a1.pk}.pdf"'
    )
    assert "قطع خط فیبر نوری شعب روستایی" in _pdf_text(response.content)
    assert client_for(outsider).get(url).status_code == 404


@pytest.mark.parametrize(
    ("factor", "expected"),
    [
        (
            {"code": "band:3", "points": 10, "params": {"count": 2, "band": "زیاد", "weight": 5}},
            "۲ ریسک باز در رده «زیاد»، هر کدام ۵ امتیاز",
        ),
        (
            {"code": "annulled", "points": 15, "params": {"count": 1}},
            "یک انتخابات پیشین در این شهرستان ابطال شده است",
        ),
        (
            {"code": "annulled", "points": 30, "params": {"count": 2}},
            "۲ انتخابات پیشین در این شهرستان ابطال شده است",
        ),
        (
            {"code": "incidents", "points": 6, "params": {"count": 3, "capped": False}},
            "۳ حادثه جدی در انتخابات‌های پیشین",
        ),
        (
            {"code": "incidents", "points": 20, "params": {"count": 30, "capped": True}},
            "۳۰ حادثه جدی در انتخابات‌های پیشین (تا سقف امتیاز)",
        ),
        (
            {"code": "stations", "points": 2, "params": {"stations": 450, "per": 200}},
            "۴۵۰ شعبه اخذ رأی، هر ۲۰۰ شعبه یک امتیاز",
        ),
        ({"code": "unknown", "points": 1, "params": {}}, "unknown"),
    ],
)
def test_factors_read_in_persian_in_the_pdf(factor: dict[str, Any], expected: str) -> None:
    # The PDF is built in Persian (render_pdf): the factors read from the Persian catalogue.
    with translation.override("fa"):
        assert exports.pdf_factor_text(factor) == expected
