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
        "ە": "ه",  # what NFKD leaves of ۀ once its hamza is stripped
        "ھ": "ه",  # heh doachashmee
        "ة": "ه",
        "أ": "ا",
        "إ": "ا",
        "ٱ": "ا",
        "آ": "ا",
        "ؤ": "و",
        "\u200d": "",
        "\u200f": "",
        "\u200e": "",
        "ـ": "",  # tatweel
        **{d: str(i) for i, d in enumerate("۰۱۲۳۴۵۶۷۸۹")},
        **{d: str(i) for i, d in enumerate("٠١٢٣٤٥٦٧٨٩")},
    }
)
_SPACES = re.compile(r"\s+")
ZWNJ = "\u200c"


def normalize(text: str) -> str:
    """Fold Arabic and Persian letter forms, digits, diacritics, ZWNJ and case to one searchable form.

    A word written with a zero-width non-joiner («رأی‌دهندگان») becomes the joined word followed by its
    parts («رایدهندگان رای دهندگان»), so it is found whether the ZWNJ was typed, omitted (joined) or
    typed as a space.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    folded = stripped.translate(_CHAR_MAP).casefold()
    words = []
    for word in folded.split():
        if ZWNJ in word:
            parts = [part for part in word.split(ZWNJ) if part]
            words.append("".join(parts))
            if len(parts) > 1:
                words.extend(parts)
        else:
            words.append(word)
    return " ".join(words)


def tidy(text: str) -> str:
    """Clean a display name without changing its spelling: Persian letter forms, trimmed spaces."""
    return _SPACES.sub(" ", text.replace("ي", "ی").replace("ك", "ک")).strip()
