"""The atlas's pure rules: matrix lookup, the classification score and its reasons, and the diff of
two versions' contents. Only the seeded-matrix test reads the database (it checks the seed's data)."""

import copy
from typing import Any

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from amanat.risks.models import ClassificationPolicy, RiskBand, RiskMatrix, RiskMatrixCell
from amanat.risks.scoring import (
    IMPORTANT,
    NORMAL,
    SENSITIVE,
    BandCount,
    Cell,
    CountyRecord,
    Factor,
    Policy,
    bands_from_rows,
    cell_for,
    classify,
    factor_text,
    level_for,
)
from amanat.risks.snapshots import COMPARED_FIELDS, snapshot_diff

LEVEL_RANK = {NORMAL: 0, IMPORTANT: 1, SENSITIVE: 2}
DEFAULT = Policy()

# --- strategies ------------------------------------------------------------------------------

policies = st.builds(
    lambda annulled, incident, cap, per, important, gap: Policy(
        annulled_points=annulled,
        incident_points=incident,
        incident_points_cap=cap,
        stations_per_point=per,
        important_from=important,
        sensitive_from=important + gap,
    ),
    annulled=st.integers(0, 50),
    incident=st.integers(0, 10),
    cap=st.integers(0, 100),
    per=st.integers(0, 500),
    important=st.integers(1, 200),
    gap=st.integers(1, 200),
)

band_counts = st.lists(
    st.builds(
        BandCount,
        band_id=st.integers(1, 1000),
        name=st.sampled_from(["کم", "متوسط", "زیاد", "بحرانی"]),
        weight=st.integers(0, 20),
        count=st.integers(0, 30),
    ),
    max_size=6,
    unique_by=lambda b: b.band_id,
)

records = st.builds(
    CountyRecord,
    bands=band_counts.map(tuple),
    annulled_elections=st.integers(0, 3),
    past_serious_incidents=st.integers(0, 40),
    stations=st.integers(0, 3000),
)


# --- matrix lookup ---------------------------------------------------------------------------


def test_cell_for_looks_the_pair_up_and_answers_none_outside_the_grid() -> None:
    cells = {(1, 1): Cell(score=1, band_id=7), (3, 2): Cell(score=6, band_id=8)}

    assert cell_for(cells, 3, 2) == Cell(score=6, band_id=8)
    assert cell_for(cells, 2, 3) is None  # likelihood and impact are not interchangeable
    assert cell_for(cells, 0, 1) is None
    assert cell_for(cells, 4, 4) is None


# (code, English name, colour, rank, weight, lowest score of the band) as the seed migration defines
SEEDED_BANDS = [
    ("low", "Low", "#2e7d32", 1, 0, 1),
    ("medium", "Medium", "#f9a825", 2, 2, 5),
    ("high", "High", "#ef6c00", 3, 5, 10),
    ("extreme", "Extreme", "#c62828", 4, 10, 17),
]


def _seeded_band_for(score: int) -> str:
    """An oracle written independently of the migration's loop: the band whose range holds the score."""
    if score >= 17:
        return "extreme"
    if score >= 10:
        return "high"
    if score >= 5:
        return "medium"
    return "low"


@pytest.mark.django_db
def test_seeded_matrix_is_the_default_5x5_scoring_likelihood_times_impact() -> None:
    matrix = RiskMatrix.objects.get(is_default=True)
    bands = list(RiskBand.objects.filter(matrix=matrix).order_by("rank"))
    cells = {
        (c.likelihood, c.impact): (c.score, c.band.code)
        for c in RiskMatrixCell.objects.filter(matrix=matrix).select_related("band")
    }

    assert (matrix.likelihood_levels, matrix.impact_levels) == (5, 5)
    assert RiskMatrix.objects.count() == 1
    assert [(b.code, b.name_en, b.colour, b.rank, b.weight) for b in bands] == [
        row[:5] for row in SEEDED_BANDS
    ]
    assert len(cells) == 25
    for likelihood in range(1, 6):
        for impact in range(1, 6):
            score = likelihood * impact
            assert cells[(likelihood, impact)] == (score, _seeded_band_for(score)), (likelihood, impact)
    # The boundaries, spelled out: 4 is low, 5 medium, 9 medium, 10 high, 16 high, 20 and 25 extreme.
    assert cells[(2, 2)] == (4, "low")
    assert cells[(1, 5)] == (5, "medium")
    assert cells[(3, 3)] == (9, "medium")
    assert cells[(2, 5)] == (10, "high")
    assert cells[(4, 4)] == (16, "high")
    assert cells[(4, 5)] == (20, "extreme")
    assert cells[(5, 5)] == (25, "extreme")


@pytest.mark.django_db
def test_seeded_policy_matches_the_pure_defaults() -> None:
    assert Policy.of(ClassificationPolicy.objects.get()) == Policy()


# --- level thresholds ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "level"),
    [(0, NORMAL), (19, NORMAL), (20, IMPORTANT), (44, IMPORTANT), (45, SENSITIVE), (10_000, SENSITIVE)],
)
def test_level_for_default_thresholds_are_inclusive(score: int, level: str) -> None:
    assert level_for(score, DEFAULT) == level


@hypothesis_settings(max_examples=300, deadline=None)
@given(policy=policies, a=st.integers(0, 1000), b=st.integers(0, 1000))
def test_level_for_is_monotone_in_the_score(policy: Policy, a: int, b: int) -> None:
    low, high = sorted((a, b))

    assert LEVEL_RANK[level_for(low, policy)] <= LEVEL_RANK[level_for(high, policy)]


@hypothesis_settings(max_examples=300, deadline=None)
@given(policy=policies, score=st.integers(0, 1000))
def test_level_for_follows_the_thresholds(policy: Policy, score: int) -> None:
    expected = (
        SENSITIVE
        if score >= policy.sensitive_from
        else IMPORTANT
        if score >= policy.important_from
        else NORMAL
    )

    assert level_for(score, policy) == expected


# --- classification --------------------------------------------------------------------------


@hypothesis_settings(max_examples=500, deadline=None)
@given(record=records, policy=policies)
def test_classify_properties(record: CountyRecord, policy: Policy) -> None:
    """Score is the sum of the factors' points; every factor adds something; the largest come first;
    the level is the thresholds' answer for the score."""
    result = classify(record, policy)
    points = [f.points for f in result.factors]

    assert result.score == sum(points)
    assert all(p > 0 for p in points)
    assert [(-f.points, f.code) for f in result.factors] == sorted(
        (-f.points, f.code) for f in result.factors
    )
    assert result.level == level_for(result.score, policy)
    assert len({f.code for f in result.factors}) == len(result.factors)


@hypothesis_settings(max_examples=300, deadline=None)
@given(record=records, policy=policies)
def test_classify_each_factor_is_computed_from_the_record(record: CountyRecord, policy: Policy) -> None:
    """An oracle for every factor, built from the record and the policy."""
    factors = {f.code: f for f in classify(record, policy).factors}

    expected_bands = {f"band:{b.band_id}": b.count * b.weight for b in record.bands if b.count * b.weight}
    assert {code: f.points for code, f in factors.items() if code.startswith("band:")} == expected_bands

    annulled = record.annulled_elections * policy.annulled_points
    if annulled:
        assert factors["annulled"].points == annulled
        assert factors["annulled"].params == {"count": record.annulled_elections}
    else:
        assert "annulled" not in factors

    uncapped = record.past_serious_incidents * policy.incident_points
    incidents = min(uncapped, policy.incident_points_cap)
    if incidents:
        assert factors["incidents"].points == incidents
        assert factors["incidents"].params["capped"] is (uncapped > incidents)
        assert factors["incidents"].params["count"] == record.past_serious_incidents
    else:
        assert "incidents" not in factors

    stations = record.stations // policy.stations_per_point if policy.stations_per_point else 0
    if stations:
        assert factors["stations"].points == stations
        assert factors["stations"].params == {"stations": record.stations, "per": policy.stations_per_point}
    else:
        assert "stations" not in factors


@hypothesis_settings(max_examples=200, deadline=None)
@given(record=records, policy=policies, extra=st.integers(1, 20))
def test_more_open_risks_never_lower_the_level(record: CountyRecord, policy: Policy, extra: int) -> None:
    """Adding risks (to an existing band) or an annulment never lowers the score nor the level."""
    before = classify(record, policy)
    worse = CountyRecord(
        bands=(*record.bands, BandCount(band_id=5000, name="x", weight=1, count=extra)),
        annulled_elections=record.annulled_elections + 1,
        past_serious_incidents=record.past_serious_incidents + extra,
        stations=record.stations + extra,
    )
    after = classify(worse, policy)

    assert after.score >= before.score + extra
    assert LEVEL_RANK[after.level] >= LEVEL_RANK[before.level]


def test_classify_worked_example_with_the_default_policy() -> None:
    record = CountyRecord(
        bands=(
            BandCount(band_id=4, name="بحرانی", name_en="Extreme", weight=10, count=2),
            BandCount(band_id=3, name="زیاد", name_en="High", weight=5, count=1),
            BandCount(band_id=2, name="متوسط", name_en="Medium", weight=2, count=0),
            BandCount(band_id=1, name="کم", name_en="Low", weight=0, count=7),
        ),
        annulled_elections=1,
        past_serious_incidents=12,  # 24 points uncapped, capped at 20
        stations=450,  # 2 points (one per 200)
    )

    result = classify(record, DEFAULT)

    assert [f.as_json() for f in result.factors] == [
        {
            "code": "band:4",
            "points": 20,
            "params": {"count": 2, "band": "بحرانی", "band_en": "Extreme", "weight": 10},
        },
        {"code": "incidents", "points": 20, "params": {"count": 12, "capped": True}},
        {"code": "annulled", "points": 15, "params": {"count": 1}},
        {
            "code": "band:3",
            "points": 5,
            "params": {"count": 1, "band": "زیاد", "band_en": "High", "weight": 5},
        },
        {"code": "stations", "points": 2, "params": {"stations": 450, "per": 200}},
    ]
    assert (result.score, result.level) == (62, SENSITIVE)


def test_classify_empty_record_is_normal_with_no_factors() -> None:
    result = classify(CountyRecord(), DEFAULT)

    assert (result.score, result.level, result.factors) == (0, NORMAL, ())


def test_zero_policy_weights_leave_factors_out() -> None:
    policy = Policy(annulled_points=0, incident_points=0, stations_per_point=0)
    record = CountyRecord(annulled_elections=2, past_serious_incidents=9, stations=10_000)

    assert classify(record, policy).factors == ()


def test_incident_cap_of_zero_leaves_incidents_out() -> None:
    result = classify(CountyRecord(past_serious_incidents=5), Policy(incident_points_cap=0))

    assert result.factors == ()


def test_policy_of_reads_every_setting_from_an_object() -> None:
    class Row:
        annulled_points, incident_points, incident_points_cap = 1, 2, 3
        stations_per_point, important_from, sensitive_from = 4, 5, 6
        updated_at = "ignored"

    assert Policy.of(Row()) == Policy(1, 2, 3, 4, 5, 6)


def test_bands_from_rows_orders_by_weight_and_drops_unknown_bands() -> None:
    table = {1: ("کم", "Low", 0), 2: ("متوسط", "Medium", 2), 3: ("زیاد", "High", 5)}

    result = bands_from_rows([(1, 4), (3, 1), (99, 8), (2, 2)], table)

    assert result == (
        BandCount(band_id=3, name="زیاد", name_en="High", weight=5, count=1),
        BandCount(band_id=2, name="متوسط", name_en="Medium", weight=2, count=2),
        BandCount(band_id=1, name="کم", name_en="Low", weight=0, count=4),
    )


# --- factors in words ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("factor", "english"),
    [
        (
            {
                "code": "band:3",
                "points": 10,
                "params": {"count": 2, "band": "زیاد", "band_en": "High", "weight": 5},
            },
            "2 open risks in the High band, 5 points each",
        ),
        (
            {
                "code": "band:3",
                "points": 5,
                "params": {"count": 1, "band": "زیاد", "band_en": "High", "weight": 5},
            },
            "1 open risk in the High band, 5 points each",
        ),
        ({"code": "annulled", "points": 15, "params": {"count": 1}}, "a previous election here was annulled"),
        (
            {"code": "annulled", "points": 30, "params": {"count": 2}},
            "2 previous elections here were annulled",
        ),
        (
            {"code": "incidents", "points": 20, "params": {"count": 12, "capped": True}},
            "12 serious incidents in past elections (capped)",
        ),
        (
            {"code": "incidents", "points": 2, "params": {"count": 1, "capped": False}},
            "1 serious incident in past elections",
        ),
        (
            {"code": "stations", "points": 2, "params": {"stations": 450, "per": 200}},
            "450 polling stations, a point per 200",
        ),
    ],
)
def test_factor_text_in_english(factor: dict[str, Any], english: str) -> None:
    with translation.override("en"):
        assert factor_text(factor) == english
        assert Factor(factor["code"], factor["points"], factor["params"]).text == english


def test_factor_text_names_the_band_in_persian_outside_english() -> None:
    factor = {
        "code": "band:3",
        "points": 5,
        "params": {"count": 1, "band": "زیاد", "band_en": "High", "weight": 5},
    }

    with translation.override("fa"):
        assert "زیاد" in factor_text(factor)
        assert "High" not in factor_text(factor)


def test_factor_text_of_an_unknown_code_is_the_code() -> None:
    assert factor_text({"code": "future-factor", "points": 1}) == "future-factor"


# --- version diff ----------------------------------------------------------------------------


def _risk(risk_id: int, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": risk_id,
        "title": f"risk {risk_id}",
        "kind": "threat",
        "phase": "during",
        "category": "خطوط ارتباطی شعب",
        "category_code": "communication-lines",
        "description": "",
        "location": "",
        "likelihood": 3,
        "impact": 4,
        "score": 12,
        "band": "زیاد",
        "band_code": "high",
        "band_colour": "#ef6c00",
        "treatment": "mitigate",
        "acceptance_approved_by": "",
        "owner": "",
        "status": "open",
        "residual_likelihood": None,
        "residual_impact": None,
        "residual_score": None,
        "residual_band": "",
        "mitigations": [],
    }
    row.update(fields)
    return row


def _content(*risks: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema": 1,
        "event": "e",
        "county": "c",
        "county_code": "C",
        "matrix": ["۵×۵"],
        "risks": list(risks),
    }


def test_snapshot_diff_classifies_each_risk_and_names_changed_fields_in_display_order() -> None:
    old = _content(_risk(1), _risk(2), _risk(3), _risk(5))
    new = _content(
        _risk(1),
        _risk(2, likelihood=5, score=20, band="بحرانی", band_code="extreme", band_colour="#c62828"),
        _risk(4),
        _risk(5, title="renamed", mitigations=[{"title": "m", "responsible": "o", "due_on": "2027-01-01"}]),
    )

    changes = snapshot_diff(old, new)

    assert [(c.risk_id, c.change, c.fields) for c in changes] == [
        (2, "changed", ("likelihood", "score", "band")),
        (5, "changed", ("title", "mitigations")),
        (4, "added", ()),
        (3, "removed", ()),
        (1, "same", ()),
    ]
    assert changes[1].title == "renamed"
    assert changes[3].title == "risk 3"  # a removed risk is titled from the old version
    assert changes[2].old is None and changes[2].new == new["risks"][2]
    assert changes[3].new is None and changes[3].old == old["risks"][2]


def test_snapshot_diff_matches_risks_by_identity_not_title() -> None:
    old = _content(_risk(1, title="same title"), _risk(2, title="other"))
    new = _content(_risk(1, title="other"), _risk(2, title="same title"))

    changes = snapshot_diff(old, new)

    assert [(c.risk_id, c.change, c.fields) for c in changes] == [
        (1, "changed", ("title",)),
        (2, "changed", ("title",)),
    ]


def test_snapshot_diff_ignores_fields_it_does_not_compare() -> None:
    """The colour and codes follow the band's name; a changed colour alone is not a change of the risk."""
    assert "band_colour" not in COMPARED_FIELDS
    old = _content(_risk(1))
    new = _content(_risk(1, band_colour="#000000", category_code="renamed-code"))

    assert [(c.change, c.fields) for c in snapshot_diff(old, new)] == [("same", ())]


def test_snapshot_diff_of_empty_contents() -> None:
    assert snapshot_diff({}, {}) == []
    assert [c.change for c in snapshot_diff({}, _content(_risk(1)))] == ["added"]


risk_rows = st.lists(
    st.builds(
        lambda risk_id, title, likelihood, impact, status: _risk(
            risk_id,
            title=title,
            likelihood=likelihood,
            impact=impact,
            score=likelihood * impact,
            status=status,
        ),
        risk_id=st.integers(1, 30),
        title=st.text(max_size=8),
        likelihood=st.integers(1, 5),
        impact=st.integers(1, 5),
        status=st.sampled_from(["open", "treated"]),
    ),
    max_size=10,
    unique_by=lambda row: row["id"],
)


@hypothesis_settings(max_examples=300, deadline=None)
@given(old=risk_rows, new=risk_rows)
def test_snapshot_diff_properties(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> None:
    """Every risk of either side appears once; a diff with itself is all "same"; reversing the sides
    swaps added and removed and keeps the changed fields; the inputs are left untouched."""
    a, b = _content(*old), _content(*new)
    a_copy, b_copy = copy.deepcopy(a), copy.deepcopy(b)

    forward = snapshot_diff(a, b)
    backward = {c.risk_id: c for c in snapshot_diff(b, a)}

    assert sorted(c.risk_id for c in forward) == sorted({r["id"] for r in old} | {r["id"] for r in new})
    assert all(c.change == "same" for c in snapshot_diff(a, copy.deepcopy(a)))
    swap = {"added": "removed", "removed": "added", "changed": "changed", "same": "same"}
    for change in forward:
        assert backward[change.risk_id].change == swap[change.change]
        assert backward[change.risk_id].fields == change.fields
        assert (change.change == "changed") == bool(change.fields)
    order = {"changed": 0, "added": 1, "removed": 2, "same": 3}
    assert [(order[c.change], c.risk_id) for c in forward] == sorted(
        (order[c.change], c.risk_id) for c in forward
    )
    assert (a, b) == (a_copy, b_copy)
