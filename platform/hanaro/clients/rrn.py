"""Resident registration numbers (주민등록번호): validation, encryption at rest, a keyed blind
index for exact-match search and duplicate detection, and the masked form shown on screen.

The number is never logged and never leaves this module in clear except to the caller that
asked to encrypt it. AES-256-GCM (``cryptography``) authenticates the ciphertext; the blind
index is HMAC-SHA256 under a second key derived from the same master key (HKDF), so the index
reveals nothing without the key.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from datetime import date

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from flask_babel import lazy_gettext as _l

KEY_VERSION = b"\x01"
# From October 2020 the last six digits are assigned at random: no check digit to verify.
RANDOM_SUFFIX_SINCE = date(2020, 10, 1)
_PATTERN = re.compile(r"^(\d{6})-?(\d{7})$")
_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
# 7th digit → (century, sex); 5–8 are foreign residents' numbers.
_CENTURY_AND_SEX = {
    "9": (1800, "M"), "0": (1800, "F"), "1": (1900, "M"), "2": (1900, "F"), "3": (2000, "M"), "4": (2000, "F"),
    "5": (1900, "M"), "6": (1900, "F"), "7": (2000, "M"), "8": (2000, "F"),
}


class InvalidRRN(ValueError):
    """The message is Korean and safe to show: it never repeats the number."""


@dataclass(frozen=True)
class ParsedRRN:
    digits: str  # 13 digits, no hyphen
    birth_date: date
    sex: str  # "M" | "F"

    @property
    def masked(self) -> str:
        return f"{self.digits[:6]}-{self.digits[6]}******"


def parse(value: str) -> ParsedRRN:
    match = _PATTERN.match((value or "").strip())
    if not match:
        raise InvalidRRN(_l("주민등록번호는 숫자 13자리(앞 6자리-뒤 7자리)로 입력하세요."))
    digits = match.group(1) + match.group(2)
    century, sex = _CENTURY_AND_SEX[digits[6]]
    try:
        birth_date = date(century + int(digits[0:2]), int(digits[2:4]), int(digits[4:6]))
    except ValueError:
        raise InvalidRRN(_l("주민등록번호 앞자리의 생년월일이 올바르지 않습니다.")) from None
    if birth_date < RANDOM_SUFFIX_SINCE and not _check_digit_ok(digits):
        raise InvalidRRN(_l("주민등록번호가 올바르지 않습니다. 번호를 다시 확인하세요(검증번호 불일치)."))
    return ParsedRRN(digits, birth_date, sex)


def _check_digit_ok(digits: str) -> bool:
    total = sum(int(d) * w for d, w in zip(digits[:12], _WEIGHTS))
    return (11 - total % 11) % 10 == int(digits[12])


# -- keys -----------------------------------------------------------------------------------

def _master_key() -> bytes:
    encoded = current_app.config.get("DATA_ENCRYPTION_KEY")
    if not encoded:
        raise RuntimeError("HANARO_DATA_KEY is not set: resident numbers cannot be stored")
    key = base64.urlsafe_b64decode(encoded)
    if len(key) != 32:
        raise RuntimeError("HANARO_DATA_KEY must be 32 bytes, base64 (urlsafe) encoded")
    return key


def _derived(purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"hanaro/" + purpose).derive(_master_key())


def derived_key(purpose: bytes) -> bytes:
    """A key for another module's keyed digests (e.g. campaign household keys), derived from the
    master key for ``purpose`` so it differs from the blind-index and encryption keys."""
    return _derived(purpose)


def new_key() -> str:
    """A fresh master key for HANARO_DATA_KEY."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


# -- encryption and blind index ---------------------------------------------------------------

def encrypt(parsed: ParsedRRN) -> bytes:
    nonce = os.urandom(12)
    ciphertext = AESGCM(_derived(b"rrn-encryption")).encrypt(nonce, parsed.digits.encode(), b"rrn")
    return KEY_VERSION + nonce + ciphertext


def decrypt(blob: bytes) -> str:
    if not blob or blob[:1] != KEY_VERSION:
        raise ValueError("unknown ciphertext version")
    return AESGCM(_derived(b"rrn-encryption")).decrypt(blob[1:13], blob[13:], b"rrn").decode()


def blind_index(parsed: ParsedRRN) -> str:
    return hmac.new(_derived(b"rrn-blind-index"), parsed.digits.encode(), hashlib.sha256).hexdigest()
