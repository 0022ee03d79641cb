"""The English catalogue covers every message in the sources, so English users never meet
untranslated Korean. `scripts/i18n check` re-extracts the messages rather than trusting the .po."""
import shutil
import subprocess
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "platform" / "hanaro" / "translations" / "en" / "LC_MESSAGES" / "messages.po"


def run_check(translations=None):
    command = [str(ROOT / "scripts" / "i18n"), "check"] + ([str(translations)] if translations else [])
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT)


def read_catalogue(path):
    with open(path, "rb") as fh:
        return read_po(fh)


def copy_catalogue(tmp_path, change):
    """The real catalogue under tmp_path/en/LC_MESSAGES, after change(catalog) edited it."""
    catalog = read_catalogue(CATALOGUE)
    change(catalog)
    target = tmp_path / "en" / "LC_MESSAGES" / "messages.po"
    target.parent.mkdir(parents=True)
    with open(target, "wb") as fh:
        write_po(fh, catalog)
    return target


def extracted(catalog):
    """Messages the sources still use (obsolete ones carry no location)."""
    return [m for m in catalog if m.id and m.locations]


def test_every_message_has_an_english_translation():
    before = CATALOGUE.read_bytes()
    result = run_check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "messages translated" in result.stdout
    assert CATALOGUE.read_bytes() == before  # the check merges into a copy, never into the catalogue


def test_check_finds_a_source_message_the_catalogue_lacks(tmp_path):
    removed = extracted(read_catalogue(CATALOGUE))[0].id
    target = copy_catalogue(tmp_path, lambda catalog: catalog.delete(removed))
    before = target.read_bytes()

    result = run_check(tmp_path)

    assert result.returncode == 1
    assert f"[missing] {removed}\n" in result.stdout
    assert target.read_bytes() == before


def test_check_finds_untranslated_fuzzy_and_broken_placeholder_messages(tmp_path):
    messages = extracted(read_catalogue(CATALOGUE))
    formatted = next(m for m in messages if "python-format" in m.flags and "%(" in m.id)
    untranslated, fuzzy = [m for m in messages if m is not formatted][:2]

    def spoil(catalog):
        catalog[untranslated.id].string = ""
        catalog[fuzzy.id].flags.add("fuzzy")
        catalog[formatted.id].string = formatted.string.replace("%(", "%(renamed_")

    copy_catalogue(tmp_path, spoil)
    result = run_check(tmp_path)

    assert result.returncode == 1
    assert f"[untranslated] {untranslated.id}\n" in result.stdout
    assert f"[fuzzy] {fuzzy.id}\n" in result.stdout
    assert f"[format] {formatted.id}: " in result.stdout
