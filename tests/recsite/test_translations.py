"""The Simplified Chinese catalogue is complete: every message the code and templates say is
in it, translated (a fuzzy entry counts as untranslated), and the compiled .mo is the .po."""
import gettext
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
SOURCES = ["manage.py", "recsite", "recommender", "explain", "templates", "locale"]


def po_entries(path: Path) -> list[dict]:
    """Return the entries of a .po file: msgctxt, msgid, msgid_plural, msgstr (a list of
    forms) and flags; obsolete (#~) entries and the header are left out."""
    entries, current, field = [], None, None

    def finish():
        if current is not None and current.get("msgid"):
            entries.append(current)

    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip() or line.startswith("#~"):
            finish()
            current, field = None, None
            continue
        if current is None:
            current = {"flags": set(), "msgctxt": None, "msgid": "", "msgid_plural": None, "msgstr": {}}
        if line.startswith("#,"):
            current["flags"] |= {f.strip() for f in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        else:
            match = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+"(.*)"$', line)
            if match:
                field = (match.group(1), match.group(2))
                text = match.group(3)
            else:
                text = re.match(r'^"(.*)"$', line).group(1)
            name, index = field
            if name.startswith("msgstr"):
                key = int(index or 0)
                current["msgstr"][key] = current["msgstr"].get(key, "") + text
            else:
                current[name] = (current[name] or "") + text
    return entries


def untranslated(entries: list[dict]) -> list[str]:
    """Return a readable line for each entry with an empty form or the fuzzy flag."""
    return [f"{'fuzzy' if 'fuzzy' in e['flags'] else 'empty'}: {e['msgctxt'] + ' | ' if e['msgctxt'] else ''}"
            f"{e['msgid']!r}" for e in entries
            if "fuzzy" in e["flags"] or not e["msgstr"] or not all(e["msgstr"].values())]


def test_the_catalogue_has_no_untranslated_or_fuzzy_entry():
    entries = po_entries(PO)
    assert len(entries) > 300
    missing = untranslated(entries)
    assert missing == [], "\n".join(missing)


def test_every_message_of_the_code_is_in_the_catalogue(tmp_path):
    """`makemessages` over a copy of the project finds no message the catalogue lacks (a
    new string without `make messages` and a translation fails here)."""
    if not shutil.which("xgettext"):
        pytest.fail("xgettext is missing: `apt-get install gettext` (make test installs it)", pytrace=False)
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
        else:
            shutil.copy2(source, tmp_path / name)
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-obsolete"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", "DJANGO_SETTINGS_MODULE": "recsite.settings.test",
             "HOME": str(tmp_path), "PYTHONPATH": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    fresh = po_entries(tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po")
    assert len(fresh) >= len(po_entries(PO)) * 0.9
    missing = untranslated(fresh)
    assert missing == [], "run `make messages` and translate:\n" + "\n".join(missing)


def test_the_compiled_catalogue_matches_the_po(tmp_path):
    """The committed .mo holds exactly the .po's translations (recompiled after each edit)."""
    if not shutil.which("msgfmt"):
        pytest.fail("msgfmt is missing: `apt-get install gettext` (make test installs it)", pytrace=False)
    compiled = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check-format", "-o", str(compiled), str(PO)], check=True)
    with compiled.open("rb") as fresh, PO.with_suffix(".mo").open("rb") as committed:
        assert gettext.GNUTranslations(committed)._catalog == gettext.GNUTranslations(fresh)._catalog
