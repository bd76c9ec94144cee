import pytest
from django.core.exceptions import ValidationError

from core.phones import phone_mask, phone_normalise


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13800138000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("+86-138-0013-8000", "13800138000"),
        ("0086 138 0013 8000", "13800138000"),
        ("008613800138000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        (" 138 0013 8000 ", "13800138000"),
        ("0773-2821234", "07732821234"),
        ("(0773) 282 1234", "07732821234"),
        ("12345", "12345"),
    ],
)
def test_it_normalises_phone_numbers(raw, expected):
    assert phone_normalise(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", None, "abc", "1234", "12-34", "12345678901", "11012345678", "1234567890123456", "110", "+86 1234"],
)
def test_it_rejects_what_cannot_be_a_phone_number(raw):
    with pytest.raises(ValidationError) as excinfo:
        phone_normalise(raw)
    assert excinfo.value.code == "invalid_phone"


def test_it_keeps_a_landline_area_code():
    assert phone_normalise("0773-2821234").startswith("0773")


@pytest.mark.parametrize(
    ("digits", "masked"),
    [
        ("13800138000", "138****8000"),
        ("07732821234", "077****1234"),
        ("2821234", "28****4"),
        ("", ""),
    ],
)
def test_it_masks_the_middle_of_a_number(digits, masked):
    assert phone_mask(digits) == masked


def test_a_masked_mobile_keeps_its_length_and_hides_the_middle_four():
    masked = phone_mask(phone_normalise("+86 138 0013 8000"))
    assert masked == "138****8000"
    assert len(masked) == 11
    assert "0013" not in masked
