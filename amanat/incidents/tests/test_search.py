"""Persian full-text search (SQLite FTS5 and PostgreSQL tsvector alike): letter forms, ZWNJ, digits,
diacritics, prefixes, comments, several words, and queries that must never reach the engine's syntax."""

from collections.abc import Callable
from typing import Any

import pytest

from amanat.incidents import selectors, services
from amanat.incidents.models import Incident
from amanat.incidents.search import search_terms
from amanat.incidents.selectors import IncidentFilters

TEXTS = {
    "zwnj": "تهدید رأی‌دهندگان کنار کلاس درس",  # Persian ی and ک, with a ZWNJ
    "arabic": "يك كيسه پول در ماشين",  # typed with Arabic ي and ك
    "digits": "شعبه شماره ۱۲۳ بسته بود",
    "latin_digits": "صندوق 456 گم شد",
    "arabic_digits": "کد ٧٨٩ ثبت شد",
    "diacritics": "رأی‌ها را فوراً شمردند و مَدرسه را قفل کردند",
    "plain_vote": "رای باطله",
    "prefix": "ساختمان تخریب‌شده",
    "joined": "ناظران میروند",
    "latin": "The station was NEAR the river OR lake",
}


@pytest.fixture
def cases(file_report: Callable[..., Incident]) -> dict[str, Incident]:
    return {key: file_report(description=text) for key, text in TEXTS.items()}


def _found(user: Any, query: str) -> set[Incident]:
    return set(selectors.incident_list_for(user=user, filters=IncidentFilters(q=query)))


def _keys(cases: dict[str, Incident], found: set[Incident]) -> set[str]:
    return {key for key, case in cases.items() if case in found}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # Arabic ي/ك typed, ZWNJ written, omitted (joined) or typed as a space: Persian text with a ZWNJ.
        ("تهديد", {"zwnj"}),
        ("راي‌دهندگان", {"zwnj"}),
        ("رايدهندگان", {"zwnj"}),
        ("راي دهندگان", {"zwnj"}),
        ("كلاس", {"zwnj"}),
        # Persian typed: text written with Arabic letters.
        ("یک کیسه", {"arabic"}),
        ("ماشین", {"arabic"}),
        # Persian, Arabic and Latin digits meet.
        ("123", {"digits"}),
        ("١٢٣", {"digits"}),
        ("۱۲۳", {"digits"}),
        ("۴۵۶", {"latin_digits"}),
        ("٤٥٦", {"latin_digits"}),
        ("789", {"arabic_digits"}),
        ("۷۸۹", {"arabic_digits"}),
        # Diacritics: hamza, tanvin, fatha.
        ("رأی", {"zwnj", "diacritics", "plain_vote"}),
        ("رای باطله", {"plain_vote"}),
        ("رأي باطله", {"plain_vote"}),
        ("فورا", {"diacritics"}),
        ("فوراً", {"diacritics"}),
        ("مدرسه", {"diacritics"}),
        ("مَدرسه", {"diacritics"}),
        # A word finds the longer words it begins; a ZWNJ word matches joined or split.
        ("تخریب", {"prefix"}),
        ("تخریب‌شده", {"prefix"}),
        ("تخریبشده", {"prefix"}),
        ("تخریب شده", {"prefix"}),
        ("می‌روند", {"joined"}),
        ("میروند", {"joined"}),
        # Latin: any case; operator words of the engines are plain words here.
        ("near", {"latin"}),
        ("OR", {"latin"}),
        ("STATION River", {"latin"}),
        # Every word must match.
        ("تهدید کلاس", {"zwnj"}),
        ("تهدید صندوق", set()),
        ("شمردند باطله", set()),
        ("ناموجود", set()),
    ],
)
def test_persian_queries_find_what_they_should(
    query: str, expected: set[str], cases: dict[str, Incident], national: Any
) -> None:
    assert _keys(cases, _found(national, query)) == expected


def test_heh_with_hamza_meets_plain_heh(file_report: Callable[..., Incident], national: Any) -> None:
    written = file_report(description="خانۀ امن")
    assert _found(national, "خانه امن") == {written}


@pytest.mark.parametrize("query", ["", "   ", "!!!", "؟ ، .", '"', "*", "()", "—", "_", "___", "«»"])
def test_an_empty_or_punctuation_only_query_leaves_the_list_unchanged(
    query: str, cases: dict[str, Incident], national: Any
) -> None:
    assert search_terms(query) == []
    assert _found(national, query) == set(cases.values())


@pytest.mark.parametrize(
    "query",
    [
        '"',
        "'",
        "*",
        ":",
        "&",
        "|",
        "(",
        ")",
        "!",
        "NEAR",
        "OR",
        "AND",
        "NOT",
        '"تهدید" OR "کلاس"',
        "NEAR(تهدید کلاس)",
        "NEAR/2",
        "تهدید OR",
        "تهدید*",
        "تهدید:*",
        "a:b",
        "!تهدید",
        "تهدید & | !",
        "(تهدید | کلاس) & !درس",
        "-تهدید",
        "^تهدید",
        "\\",
        "%",
        "'; DROP TABLE incidents_incident; --",
        "{} [] <-> @@",
        "\x00تهدید",
        "ت" * 300,
        " ".join(["کلمه"] * 50),
        "تهدید‌",  # a trailing ZWNJ
        "‌‌",
    ],
)
def test_special_characters_never_reach_the_engine(
    query: str, cases: dict[str, Incident], national: Any
) -> None:
    found = _found(national, query)
    assert found <= set(cases.values())
    assert selectors.incident_list_for(user=national, filters=IncidentFilters(q=query)).count() == len(found)


def test_operator_characters_are_dropped_not_obeyed(cases: dict[str, Incident], national: Any) -> None:
    # "!" is no negation and "|" no alternative: both words must match.
    assert _keys(cases, _found(national, "(تهدید | کلاس) & !درس")) == {"zwnj"}
    assert _keys(cases, _found(national, '"تهدید" OR "صندوق"')) == set()
    assert _keys(cases, _found(national, "تهدید*")) == {"zwnj"}


def test_comments_are_searchable(
    file_report: Callable[..., Incident], county_user: Any, national: Any
) -> None:
    incident = file_report(description="گزارش بدون جزئیات")
    other = file_report(description="گزارش دیگر")
    assert _found(national, "بازرس") == set()
    services.incident_comment_add(actor=county_user, incident=incident, body="بازرسِ ويژه اعزام شد")
    assert _found(national, "بازرس ویژه") == {incident}
    assert _found(national, "گزارش") == {incident, other}
    assert _found(national, "گزارش اعزام") == {incident}


def test_search_stays_inside_the_jurisdiction(
    cases: dict[str, Incident], outsider: Any, county_user: Any, file_report: Callable[..., Incident]
) -> None:
    theirs = file_report(actor=outsider, station_code="B1-001", description="تهدید ناظران")
    assert _found(outsider, "تهدید") == {theirs}
    assert _keys(cases, _found(county_user, "تهدید")) == {"zwnj"}
    assert theirs not in _found(county_user, "تهدید")


def test_search_terms_fold_the_query_once() -> None:
    assert search_terms("راي‌دهندگان  كلاس ۱۲") == [[["رایدهندگان"], ["رای", "دهندگان"]], [["کلاس"]], [["12"]]]
    assert search_terms("a_b") == [[["a"]], [["b"]]]
    assert len(search_terms(" ".join(f"w{n}" for n in range(20)))) == 8
