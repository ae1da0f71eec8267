"""Persian text normalisation: the one function used both when storing searchable text and when querying."""

import re
import unicodedata

_CHAR_MAP = str.maketrans(
    {
        "ي": "ی",  # Arabic yeh
        "ى": "ی",  # alef maksura
        "ئ": "ی",
        "ك": "ک",  # Arabic kaf
        "ۀ": "ه",
        "ة": "ه",
        "أ": "ا",
        "إ": "ا",
        "ٱ": "ا",
        "آ": "ا",
        "ؤ": "و",
        "\u200c": "",  # zero-width non-joiner: written or omitted, it must not matter
        "\u200d": "",
        "\u200f": "",
        "\u200e": "",
        "ـ": "",  # tatweel
        **{d: str(i) for i, d in enumerate("۰۱۲۳۴۵۶۷۸۹")},
        **{d: str(i) for i, d in enumerate("٠١٢٣٤٥٦٧٨٩")},
    }
)
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Fold Arabic and Persian letter forms, digits, diacritics, ZWNJ and case to one searchable form."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    folded = stripped.translate(_CHAR_MAP).casefold()
    return _SPACES.sub(" ", folded).strip()


def tidy(text: str) -> str:
    """Clean a display name without changing its spelling: Persian letter forms, trimmed spaces."""
    return _SPACES.sub(" ", text.replace("ي", "ی").replace("ك", "ک")).strip()
