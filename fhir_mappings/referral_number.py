"""The referral number a person reads out on the phone: eight characters derived from the referral id.

The referral id is 32 random hex characters (a version-4 UUID: its first 48 bits are random,
RFC 9562 §5.4). The number is the first 40 of those bits in Crockford's Base32
(https://www.crockford.com/base32.html): digits and letters without I, L, O and U, so that no two
characters look or sound alike, shown as two groups of four ("7KQ2-M9XD"). Reading one back
forgives what Crockford forgives: any case, spaces and hyphens, I and L for 1, O for 0.
"""

import re

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 8  # 40 bits: about one chance in a million that one ATP's thousand referrals share one
_ID = re.compile(r"[0-9a-f]{32}")
_LOOK_ALIKES = str.maketrans({"I": "1", "L": "1", "O": "0"})


def referral_number_from_id(referral_id: str) -> str:
    """"7KQ2-M9XD" for the referral id; ValueError for anything that is not a referral id."""
    if not _ID.fullmatch(referral_id):
        raise ValueError("a referral id is 32 lowercase hex characters")
    value = int(referral_id[:10], 16)
    symbols = "".join(ALPHABET[(value >> shift) & 31] for shift in range(35, -1, -5))
    return f"{symbols[:4]}-{symbols[4:]}"


def referral_number_from_text(text: str) -> str | None:
    """The number someone typed or read out, in its shown form; None if it cannot be one."""
    compact = "".join(text.split()).replace("-", "").upper().translate(_LOOK_ALIKES)
    if len(compact) != LENGTH or any(symbol not in ALPHABET for symbol in compact):
        return None
    return f"{compact[:4]}-{compact[4:]}"
