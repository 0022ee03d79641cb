"""The English catalog covers every message, so English users never meet untranslated Korean."""
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_message_has_an_english_translation():
    result = subprocess.run([str(ROOT / "scripts" / "i18n"), "check"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
