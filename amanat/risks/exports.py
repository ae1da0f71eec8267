"""The county identity card (شناسنامه) as a printable Persian RTL PDF, and what its page shares with it.

The page and the PDF show the same card: the heat map's cells (band colour, a text colour that
reads on it, the band's name so colour is never the only cue), the factors of the score, and the
progress of the mitigations are prepared here once for both.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import get_language

from amanat.committees.models import ActionStatus
from amanat.elections.models import ContestKind
from amanat.risks.models import RiskKind, RiskPhase, SecurityLevel, Treatment
from amanat.risks.scoring import factor_text
from amanat.risks.selectors import IdentityCard
from amanat.ui.formatting import format_date, format_datetime, persian_digits
from amanat.ui.pdf import render_pdf

# Level colours: green, amber, red; each with the text colour that reads on it (WCAG AA or better).
LEVEL_COLOURS: dict[str, tuple[str, str]] = {
    SecurityLevel.NORMAL: ("#1b5e20", "#ffffff"),
    SecurityLevel.IMPORTANT: ("#ffb300", "#1a1a1a"),
    SecurityLevel.SENSITIVE: ("#b71c1c", "#ffffff"),
}

# --- shared by the page and the PDF ----------------------------------------------------------


def _luminance(colour: str) -> float:
    """WCAG relative luminance of a #rrggbb colour."""
    channels = []
    for start in (1, 3, 5):
        value = int(colour[start : start + 2], 16) / 255
        channels.append(value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: str, second: str) -> float:
    """The WCAG contrast ratio of two colours (1 to 21)."""
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def ink_for(colour: str) -> str:
    """Black or white, whichever reads better on the colour."""
    try:
        return "#1a1a1a" if contrast(colour, "#1a1a1a") >= contrast(colour, "#ffffff") else "#ffffff"
    except (ValueError, IndexError):
        return "#1a1a1a"


@dataclass(frozen=True)
class HeatCell:
    likelihood: int
    impact: int
    count: int
    score: int | None
    band: str
    colour: str
    ink: str


def _band_name(band: Any) -> str:
    if band is None:
        return ""
    if (get_language() or "").startswith("en") and band.name_en:
        return str(band.name_en)
    return str(band.name)


def heat_table(card: IdentityCard) -> list[list[HeatCell]]:
    """The heat map's rows, highest likelihood first: each cell's count, band name and colours."""
    rows = []
    for row in card.heat_rows:
        cells = []
        for cell in row:
            matrix_cell = cell["cell"]
            band = matrix_cell.band if matrix_cell is not None else None
            colour = band.colour if band is not None else "#eeeeee"
            cells.append(
                HeatCell(
                    likelihood=cell["likelihood"],
                    impact=cell["impact"],
                    count=cell["count"],
                    score=matrix_cell.score if matrix_cell is not None else None,
                    band=_band_name(band),
                    colour=colour,
                    ink=ink_for(colour),
                )
            )
        rows.append(cells)
    return rows


def heat_bands(card: IdentityCard) -> list[dict[str, Any]]:
    """The bands of the card's matrix, least severe first, for the legend."""
    seen: dict[int, Any] = {}
    for cell in card.cells.values():
        seen.setdefault(cell.band_id, cell.band)
    return [
        {"name": _band_name(band), "colour": band.colour, "ink": ink_for(band.colour), "weight": band.weight}
        for band in sorted(seen.values(), key=lambda band: band.rank)
    ]


def factor_lines(card: IdentityCard) -> list[dict[str, Any]]:
    """Why the score is what it is, in words in the active language, with each factor's points."""
    if card.classification is None:
        return []
    return [
        {"text": factor_text(factor), "points": int(factor.get("points", 0))}
        for factor in card.classification.factors
    ]


@dataclass(frozen=True)
class Progress:
    total: int
    done: int
    counts: list[tuple[str, str, int]]  # (status, label, count)

    @property
    def percent_done(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


def mitigation_progress(card: IdentityCard) -> Progress:
    counts = [
        (status.value, str(status.label), card.mitigation_progress.get(status.value, 0))
        for status in ActionStatus
    ]
    return Progress(
        total=sum(card.mitigation_progress.values()),
        done=card.mitigation_progress.get(ActionStatus.DONE.value, 0),
        counts=counts,
    )


def past_incidents(card: IdentityCard) -> int:
    return sum(record.serious_incidents for record in card.past_elections)


# --- the PDF ---------------------------------------------------------------------------------

# The context is built under translation.override("fa") (render_pdf): labels come from the catalogue,
# so the PDF says what the Persian pages say, and numbers are written in Persian digits.


def _label(choices: Any, value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


def pdf_factor_text(factor: Mapping[str, Any]) -> str:
    """A stored factor of the score in words of the active language (Persian in the PDF), Persian digits."""
    return persian_digits(factor_text(factor))


def _person(user: Any) -> str:
    return (user.get_full_name() or user.username) if user is not None else ""


def _card_context(card: IdentityCard) -> dict[str, Any]:
    classification = card.classification
    progress = mitigation_progress(card)
    level = classification.level if classification else ""
    recommended = classification.recommended_level if classification else ""
    return {
        "card": card,
        "event": card.event,
        "county": card.county,
        "province": card.county.province,
        "voting_day": format_date(card.event.voting_day, long=True),
        "stations": persian_digits(card.stations),
        "districts": persian_digits(card.districts),
        "contests": [contest.title or _label(ContestKind, contest.kind) for contest in card.contests],
        "past_elections": [
            {
                "title": record.title,
                "held_on": format_date(record.held_on, long=True),
                "annulled": record.was_annulled,
                "incidents": persian_digits(record.serious_incidents),
                "notes": record.notes,
            }
            for record in card.past_elections
        ],
        "annulled_count": persian_digits(sum(1 for record in card.past_elections if record.was_annulled)),
        "past_incidents": persian_digits(past_incidents(card)),
        "risk_count": persian_digits(card.risk_count),
        "atlas_status": card.atlas.status if card.atlas else "",
        "matrix": card.matrix,
        "impacts": [persian_digits(impact) for impact in card.impacts],
        "heat": [
            {
                "likelihood": persian_digits(row[0].likelihood) if row else "",
                "cells": [
                    {
                        "count": persian_digits(cell.count) if cell.count else "",
                        "band": cell.band,
                        "colour": cell.colour,
                        "ink": cell.ink,
                    }
                    for cell in row
                ],
            }
            for row in heat_table(card)
        ],
        "bands": heat_bands(card),
        "phases": [
            {
                "label": _label(RiskPhase, phase),
                "risks": [
                    {
                        "title": risk.title,
                        "kind": _label(RiskKind, risk.kind),
                        "category": risk.category.name,
                        "score": persian_digits(risk.score) if risk.score is not None else "—",
                        "band": risk.band.name if risk.band else "—",
                        "colour": risk.band.colour if risk.band else "#ffffff",
                        "ink": ink_for(risk.band.colour) if risk.band else "#1a1a1a",
                        "treatment": _label(Treatment, risk.treatment) if risk.treatment else "—",
                        "location": risk.location,
                    }
                    for risk in card.top_risks.get(phase, [])
                ],
            }
            for phase in RiskPhase.values
        ],
        "mitigations": [
            {
                "risk": mitigation.risk.title,
                "title": mitigation.action_item.title,
                "responsible": mitigation.action_item.responsible.name,
                "due": format_date(mitigation.action_item.due_on),
                "status": _label(ActionStatus, mitigation.action_item.status),
                "done": mitigation.action_item.status == ActionStatus.DONE,
            }
            for mitigation in card.mitigations
        ],
        "progress_total": persian_digits(progress.total),
        "progress_done": persian_digits(progress.done),
        "progress_percent": persian_digits(progress.percent_done),
        "progress_percent_raw": progress.percent_done,
        "classified": classification is not None,
        "score": persian_digits(classification.score) if classification else "",
        "computed_at": format_datetime(classification.computed_at) if classification else "",
        "level": level,
        "level_fa": _label(SecurityLevel, level) if level else "",
        "recommended": recommended,
        "recommended_fa": _label(SecurityLevel, recommended) if recommended else "",
        "level_colours": {name: {"bg": bg, "ink": ink} for name, (bg, ink) in LEVEL_COLOURS.items()},
        "factors": [
            {"text": pdf_factor_text(factor), "points": persian_digits(int(factor.get("points", 0)))}
            for factor in (classification.factors if classification else [])
        ],
        "history": [
            {
                "level": _label(SecurityLevel, decision.level),
                "level_code": decision.level,
                "recommended": _label(SecurityLevel, decision.recommended_level),
                "override": decision.is_override,
                "score": persian_digits(decision.score),
                "reason": decision.reason,
                "by": _person(decision.decided_by),
                "at": format_datetime(decision.decided_at),
            }
            for decision in card.level_history
        ],
        "generated_at": format_datetime(timezone.now()),
    }


def identity_card_pdf(*, card: IdentityCard) -> bytes:
    """The county's identity card as a printable Persian (RTL) A4 PDF."""
    return render_pdf("risks/card_pdf.html", lambda: _card_context(card))
