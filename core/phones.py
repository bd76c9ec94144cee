"""Caller phone numbers: one normal form, a masked form for display, and a keyed hash for matching."""

import hmac
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_DIGITS = re.compile(r"\D+")


def phone_normalise(raw: str) -> str:
    """Digits only, without the +86/0086 country prefix. Landlines keep their leading 0 area code.
    Raises ValidationError when what is left cannot be a phone number."""
    value = (raw or "").strip()
    digits = _DIGITS.sub("", value)
    international = False
    if value.startswith("+86") or (digits.startswith("0086") and len(digits) > 12):
        digits = digits[2:] if value.startswith("+86") else digits[4:]
        international = True
    elif digits.startswith("86") and len(digits) == 13 and digits[2] == "1":
        digits = digits[2:]
    if international and digits and digits[0] not in "01":
        # +86 773 2821234 is the landline dialled at home as 0773 2821234: one form for both.
        digits = "0" + digits
    if not 5 <= len(digits) <= 15:
        raise ValidationError(_("Enter a phone number with 5 to 15 digits."), code="invalid_phone")
    if len(digits) == 11 and digits[0] == "1" and digits[1] not in "3456789":
        raise ValidationError(_("This is not a valid mobile number."), code="invalid_phone")
    return digits


def phone_mask(digits: str) -> str:
    """138****1234 for mobiles; keep the first 3 and last 4 digits and hide the middle."""
    if not digits:
        return ""
    if len(digits) <= 7:
        return digits[:2] + "*" * (len(digits) - 3) + digits[-1:]
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def caller_key(digits: str) -> str:
    """The number as repeat checks and mediation match it: HMAC-SHA256 under CALLER_KEY_SECRET (hex). Kept on
    a call after its number is anonymised, for as long as those checks look back (CALLER_KEY_DAYS). Keyed,
    not a bare salted hash: China's numbers are few enough to try them all against a known salt."""
    if not digits:
        return ""
    return hmac.digest(settings.CALLER_KEY_SECRET.encode(), digits.encode(), "sha256").hex()  # one C call
