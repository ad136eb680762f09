"""Phone numbers and ID numbers: normalised on input, masked in lists and logs."""

from __future__ import annotations

import re

MAINLAND_MOBILE = re.compile(r"^1[3-9]\d{9}$")
# Any run of 11 digits starting with 1 inside free text (log lines).
_PHONE_IN_TEXT = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])")


def normalise_phone(raw: str) -> str | None:
    """Return an 11-digit mainland mobile number, or None when it is not one."""
    digits = re.sub(r"[\s\-()]", "", raw)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits if MAINLAND_MOBILE.match(digits) else None


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    if len(phone) >= 7:
        return phone[:3] + "****" + phone[-4:]
    return "*" * len(phone)


def mask_id_number(id_number: str | None) -> str | None:
    if not id_number:
        return id_number
    if len(id_number) <= 4:
        return "*" * len(id_number)
    keep = 4 if len(id_number) > 8 else 1
    return id_number[:keep] + "*" * (len(id_number) - 2 * keep) + id_number[-keep:]


def mask_text(text: str) -> str:
    """Mask phone and resident-ID numbers wherever they appear in a log message."""
    text = _ID_IN_TEXT.sub(lambda m: m.group(1) + "********" + m.group(2), text)
    return _PHONE_IN_TEXT.sub(lambda m: m.group(1) + "****" + m.group(2), text)
