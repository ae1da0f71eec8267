"""The Persian catalogue: every string translated, in step with the code, and compiled.

Persian is the default language, so an untranslated string is an English word in a Persian page.
When a test here fails after a code change, run `make messages`, translate the new entries in
amanat/locale/fa/LC_MESSAGES/django.po, and run `make messages` again to compile them.
"""

import io
import os
import re
import shutil
from collections import Counter
from pathlib import Path

import polib
import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import translation

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "amanat"
PO_PATH = PACKAGE_DIR / "locale" / "fa" / "LC_MESSAGES" / "django.po"
MO_PATH = PO_PATH.with_suffix(".mo")
FIX = "Run `make messages`, translate the new entries in the fa catalogue, and run it again."

# A %-format directive: optional (name), flags, width, precision, conversion; "%%" is a literal.
PLACEHOLDER = re.compile(r"%(?:\((?P<name>[^)]*)\))?[-#0 +]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[diouxXeEfFgGcrsa%]")

Key = tuple[str, str]


def _placeholders(text: str) -> Counter[str]:
    return Counter(match.group(0) for match in PLACEHOLDER.finditer(text) if match.group(0) != "%%")


def _catalogue() -> polib.POFile:
    return polib.pofile(str(PO_PATH))


def _key(entry: polib.POEntry | polib.MOEntry) -> Key:
    return (entry.msgctxt or "", entry.msgid)


def _msgids(po: polib.POFile) -> set[tuple[str, str, str]]:
    return {(e.msgctxt or "", e.msgid, e.msgid_plural or "") for e in po if not e.obsolete}


def _translations(entries: list[polib.POEntry] | polib.MOFile) -> dict[Key, tuple[str, ...]]:
    pairs = {}
    for entry in entries:
        if entry.msgid_plural:
            forms = tuple(text for _index, text in sorted(entry.msgstr_plural.items()))
        else:
            forms = (entry.msgstr,)
        pairs[_key(entry)] = forms
    return pairs


def test_catalogue_header_is_persian() -> None:
    po = _catalogue()
    assert not po.metadata_is_fuzzy, "the catalogue header is marked fuzzy; remove '#, fuzzy' above it"
    assert po.metadata.get("Language") == "fa"
    assert po.metadata.get("Plural-Forms", "").replace(" ", "") == "nplurals=2;plural=(n>1);"
    assert "charset=UTF-8" in po.metadata.get("Content-Type", "")


def test_catalogue_is_complete() -> None:
    po = _catalogue()
    assert len(po) > 0, "the fa catalogue is empty"
    untranslated = [entry.msgid for entry in po.untranslated_entries()]
    fuzzy = [entry.msgid for entry in po.fuzzy_entries()]
    assert not untranslated, f"untranslated entries in {PO_PATH.name}: {untranslated}"
    assert not fuzzy, f"fuzzy entries (check the translation, then remove '#, fuzzy'): {fuzzy}"


def test_placeholders_survive_translation() -> None:
    problems = []
    for entry in _catalogue():
        if entry.obsolete or "python-format" not in entry.flags:
            continue
        if entry.msgid_plural:
            # Persian forms all read like the English plural: the number is always shown.
            expected = _placeholders(entry.msgid_plural)
            texts = [text for _index, text in sorted(entry.msgstr_plural.items())]
        else:
            expected = _placeholders(entry.msgid)
            texts = [entry.msgstr]
        for text in texts:
            if _placeholders(text) != expected:
                problems.append(f"{entry.msgid!r} -> {text!r}")
    assert not problems, "placeholders differ between msgid and msgstr:\n" + "\n".join(problems)


def test_catalogue_is_up_to_date_with_the_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Extract the strings again, into a copy of the package, and compare the msgids."""
    if shutil.which("xgettext") is None or shutil.which("msgmerge") is None:
        message = "GNU gettext (xgettext, msgmerge) is not installed; cannot check the catalogue."
        if os.environ.get("CI") == "true":
            pytest.fail(message + " CI must install the gettext package.")
        pytest.skip(message)
    copy = tmp_path / "amanat"
    shutil.copytree(
        PACKAGE_DIR,
        copy,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo", "static", "*.html.py"),
    )
    locale_dir = copy / "locale"
    monkeypatch.chdir(copy)  # makemessages reads the tree under the current directory
    with override_settings(LOCALE_PATHS=[locale_dir]):
        call_command(
            "makemessages",
            locale=["fa"],
            no_obsolete=True,
            no_location=True,
            verbosity=0,
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    committed = _msgids(_catalogue())
    fresh = _msgids(polib.pofile(str(locale_dir / "fa" / "LC_MESSAGES" / "django.po")))
    added = sorted(fresh - committed)
    removed = sorted(committed - fresh)
    assert not added and not removed, (
        f"the fa catalogue is out of date with the code. {FIX}\n"
        f"new strings: {[msgid for _ctx, msgid, _plural in added]}\n"
        f"strings no longer used: {[msgid for _ctx, msgid, _plural in removed]}"
    )


def test_compiled_catalogue_matches_the_po() -> None:
    assert MO_PATH.exists(), f"{MO_PATH} is missing. Run `make messages`."
    po = _catalogue()
    expected = _translations(po.translated_entries())
    compiled = _translations(polib.mofile(str(MO_PATH)))
    stale = sorted(
        key[1] for key in expected.keys() | compiled.keys() if expected.get(key) != compiled.get(key)
    )
    assert not stale, f"{MO_PATH.name} is older than {PO_PATH.name}; run `make messages`. Differing: {stale}"


def test_django_serves_the_persian_catalogue() -> None:
    with translation.override("fa"):
        assert translation.gettext("Audit log") == "دفتر ممیزی"
        assert translation.ngettext("%(shown)s day to voting", "%(shown)s days to voting", 3) % {
            "shown": 3
        } == ("3 روز مانده به رأی‌گیری")
