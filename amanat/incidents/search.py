"""Full-text search over cases with the database's own engine, Persian folded the same way on both sides.

The stored text (`Incident.search_text`) and the query both go through `amanat.persian.normalize`, so
Arabic and Persian ی/ک, a written or omitted zero-width non-joiner, Persian, Arabic and Latin digits
and diacritics all meet in one form. Every word must match; each also matches longer words it begins
(a prefix), so «تخریب» finds «تخریب‌شده». A word with a ZWNJ is stored joined and as its parts, so
«رای‌دهندگان», «رایدهندگان» and «رای دهندگان» find each other.

The query never reaches the engine's own syntax: only letters and digits are kept, each term quoted, and
the operators are added here, so quotes, `*`, `:`, `&`, `|`, parentheses, NEAR or OR are plain text.
"""

import re

from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from amanat.persian import ZWNJ, normalize

MAX_TERMS = 8
# Letters and digits only: punctuation, operators and the underscore separate words.
_TERM = re.compile(r"[^\W_]+")

# One word of the query: any of its spellings (each a list of terms that must all match).
Group = list[list[str]]


def _terms(text: str) -> list[str]:
    return _TERM.findall(normalize(text))


def search_terms(query: str) -> list[Group]:
    """The query's words after folding, as alternatives: a word typed with a ZWNJ matches its joined form
    or all of its parts. At most a few words; punctuation and operators are dropped."""
    groups: list[Group] = []
    for word in query.split():
        if ZWNJ in word:
            joined = _terms(word.replace(ZWNJ, ""))
            parts = _terms(word.replace(ZWNJ, " "))
            if joined and parts and joined != parts:
                groups.append([joined, parts])
                continue
        groups.extend([[term]] for term in _terms(word))
    return groups[:MAX_TERMS]


def _postgres(groups: list[Group]) -> str:
    # Each term quoted as a lexeme ('…':*), so nothing in it is read as an operator.
    def conjunction(terms: list[str]) -> str:
        return "(" + " & ".join(f"'{term}':*" for term in terms) + ")"

    return " & ".join("(" + " | ".join(conjunction(terms) for terms in group) + ")" for group in groups)


def _fts5(groups: list[Group]) -> str:
    # Each term a quoted string with a prefix star, so NEAR, OR or AND in the query are plain words.
    def conjunction(terms: list[str]) -> str:
        return "(" + " AND ".join(f'"{term}"*' for term in terms) + ")"

    return " AND ".join("(" + " OR ".join(conjunction(terms) for terms in group) + ")" for group in groups)


def search_filter(queryset: QuerySet, query: str) -> QuerySet:
    """Narrow cases to those whose description, comments or merged reports contain every word."""
    groups = search_terms(query)
    if not groups:
        return queryset
    table = queryset.model._meta.db_table
    if connection.vendor == "postgresql":
        return queryset.filter(
            RawSQL(
                f"{table}.search_vector @@ to_tsquery('simple', %s)",
                [_postgres(groups)],
                output_field=BooleanField(),
            )
        )
    return queryset.filter(
        id__in=RawSQL(f"SELECT rowid FROM {table}_fts WHERE {table}_fts MATCH %s", [_fts5(groups)])
    )
