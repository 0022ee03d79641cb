"""Resident registration numbers: validation, encryption, blind index, masking."""
from datetime import date

import pytest

from hanaro.clients import rrn

VALID = "900101-1234568"  # check digit computed for 900101123456


def test_a_valid_number_parses_to_birth_date_sex_and_mask(ctx):
    parsed = rrn.parse(VALID)
    assert parsed.birth_date == date(1990, 1, 1) and parsed.sex == "M"
    assert parsed.masked == "900101-1******"
    assert rrn.parse("9001011234568").digits == parsed.digits


@pytest.mark.parametrize("value, message", [
    ("12345", "숫자 13자리"),
    ("901301-1234567", "생년월일이 올바르지 않습니다"),
    ("900101-1234567", "검증번호"),
])
def test_invalid_numbers_get_korean_messages_without_the_number(ctx, value, message):
    with pytest.raises(rrn.InvalidRRN) as error:
        rrn.parse(value)
    assert message in str(error.value)
    assert value not in str(error.value)


def test_numbers_issued_since_october_2020_have_no_check_digit(ctx):
    assert rrn.parse("201105-3999999").birth_date == date(2020, 11, 5)


def test_encryption_round_trips_and_never_contains_the_number(ctx):
    parsed = rrn.parse(VALID)
    blob = rrn.encrypt(parsed)
    assert parsed.digits.encode() not in blob and b"900101" not in blob
    assert rrn.decrypt(blob) == parsed.digits
    assert rrn.encrypt(parsed) != blob  # a fresh nonce each time


def test_the_blind_index_is_stable_keyed_and_not_the_number(app, ctx):
    parsed = rrn.parse(VALID)
    index = rrn.blind_index(parsed)
    assert index == rrn.blind_index(rrn.parse("9001011234568"))
    assert parsed.digits not in index
    original = app.config["DATA_ENCRYPTION_KEY"]
    app.config["DATA_ENCRYPTION_KEY"] = rrn.new_key()
    try:
        assert rrn.blind_index(parsed) != index  # without the key the index cannot be recomputed
    finally:
        app.config["DATA_ENCRYPTION_KEY"] = original
