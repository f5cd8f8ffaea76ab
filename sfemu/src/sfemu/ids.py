"""Salesforce record ids: generation, 15 <-> 18 conversion, validation.

A Salesforce id is base-62 text: a 3-character key prefix (the object type, e.g. ``005`` User, ``0PS`` PermissionSet;
see shared/reference/salesforce-api.md section 8), then 12 characters identifying the record (real ids begin those
with a 2-character pod/instance part, e.g. ``4P`` in ``0054P00000AaGueQAF``), then, for the 18-character "case-safe"
form the API always returns, a 3-character checksum of the capitalisation of the first 15 characters.

Checksum algorithm (the one behind the CASESAFEID() formula function), sources:
- https://gammone.com/en/programming/how-to-convert-salesforce-id-from-15-to-18-chars (worked example
  ``a0D30000001n7Pi`` -> ``a0D30000001n7PiEAI``)
- https://forceguru.blogspot.com/2010/12/how-salesforce-18-digit-id-is.html (Apex reference implementation)
- https://salesforce.stackexchange.com/questions/400608 (bit order explained)
For each of the three 5-character chunks, bit ``j`` (value ``1 << j``) is set when the chunk's ``j``-th character is
an uppercase ASCII letter; the 5-bit value indexes ``ABCDEFGHIJKLMNOPQRSTUVWXYZ012345``.
The test suite checks the algorithm against real 18-character ids recorded from orgs.

The 18-character form is case-insensitive: the suffix records which of the first 15 characters are uppercase, so
an 18-character id typed in any case can be restored (``normalize_id``). The API accepts both forms as input
[doc: "The API will accept the 15 digit ID as input but will always return the 18 digit ID", forceguru above].
"""

from __future__ import annotations

__all__ = [
    "BASE62",
    "CHECKSUM_ALPHABET",
    "new_id",
    "to18",
    "to15",
    "is_valid_id",
    "key_prefix",
    "normalize_id",
    "same_id",
]

# Digit order for our deterministic counters. Salesforce does not document the order it uses; any base-62 order
# produces valid-looking ids [infer].
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"

_ALNUM = frozenset(BASE62)
_COUNTER_WIDTH = 10
_POD_WIDTH = 2
_MAX_COUNTER = 62**_COUNTER_WIDTH - 1
_MAX_ORG_SEQ = 62**_POD_WIDTH - 1


def _base62(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, rem = divmod(n, 62)
        out.append(BASE62[rem])
    return "".join(reversed(out))


def _is_alnum(s: str) -> bool:
    # str.isalnum() accepts non-ASCII letters and digits ("é", "٣"); ids are ASCII only.
    return all(c in _ALNUM for c in s)


def _checksum(id15: str) -> str:
    suffix = []
    for chunk in range(3):
        flags = 0
        for j in range(5):
            c = id15[chunk * 5 + j]
            if "A" <= c <= "Z":
                flags |= 1 << j
        suffix.append(CHECKSUM_ALPHABET[flags])
    return "".join(suffix)


def new_id(prefix: str, org_seq: int, counter: int) -> str:
    """Return a deterministic, valid 18-character id.

    ``prefix`` is the 3-character key prefix, ``org_seq`` (0..3843) becomes the 2-character pod part so ids of
    different emulated orgs never collide, ``counter`` (0..62**10-1) is the per-org record counter.
    """
    if not isinstance(prefix, str) or len(prefix) != 3 or not _is_alnum(prefix):
        raise ValueError(f"key prefix must be 3 alphanumeric characters, got {prefix!r}")
    if not isinstance(org_seq, int) or not 0 <= org_seq <= _MAX_ORG_SEQ:
        raise ValueError(f"org_seq must be an int between 0 and {_MAX_ORG_SEQ}, got {org_seq!r}")
    if not isinstance(counter, int) or not 0 <= counter <= _MAX_COUNTER:
        raise ValueError(f"counter must be an int between 0 and 62**10-1, got {counter!r}")
    return to18(prefix + _base62(org_seq, _POD_WIDTH) + _base62(counter, _COUNTER_WIDTH))


def to18(id15: str) -> str:
    """Append the case-safe checksum to a 15-character id (an 18-character id is returned as is, if valid)."""
    if isinstance(id15, str) and len(id15) == 18 and is_valid_id(id15):
        return id15
    if not isinstance(id15, str) or len(id15) != 15 or not _is_alnum(id15):
        raise ValueError(f"not a 15-character Salesforce id: {id15!r}")
    return id15 + _checksum(id15)


def to15(sf_id: str) -> str:
    """Return the case-sensitive 15-character form of a 15- or 18-character id."""
    norm = normalize_id(sf_id)
    if norm is None:
        raise ValueError(f"not a Salesforce id: {sf_id!r}")
    return norm[:15]


def is_valid_id(s: object) -> bool:
    """True for a 15-character alphanumeric id, or an 18-character one whose checksum matches exactly."""
    if not isinstance(s, str) or not _is_alnum(s):
        return False
    if len(s) == 15:
        return True
    if len(s) == 18:
        return _checksum(s[:15]) == s[15:]
    return False


def key_prefix(sf_id: str) -> str:
    """The 3-character key prefix (object type) of an id."""
    if not isinstance(sf_id, str) or len(sf_id) < 3 or not _is_alnum(sf_id[:3]):
        raise ValueError(f"not a Salesforce id: {sf_id!r}")
    return sf_id[:3]


def normalize_id(s: object) -> str | None:
    """Canonical 18-character id for ``s``, or None if ``s`` is not an id.

    Accepts a 15-character id (case-sensitive) or an 18-character id in any letter case: the checksum tells which
    of the first 15 characters are uppercase, which is the point of the case-safe form.
    """
    if not isinstance(s, str) or not _is_alnum(s):
        return None
    if len(s) == 15:
        return s + _checksum(s)
    if len(s) != 18:
        return None
    if _checksum(s[:15]) == s[15:]:
        return s
    suffix = s[15:].upper()
    try:
        bits = [CHECKSUM_ALPHABET.index(c) for c in suffix]
    except ValueError:
        return None
    chars = []
    for chunk in range(3):
        for j in range(5):
            c = s[chunk * 5 + j]
            if bits[chunk] & (1 << j):
                if not c.isalpha():
                    return None
                chars.append(c.upper())
            else:
                chars.append(c.lower())
    id15 = "".join(chars)
    return id15 + suffix


def same_id(a: object, b: object) -> bool:
    """True when ``a`` and ``b`` denote the same record (15 vs 18 characters, 18-character case-insensitive)."""
    na = normalize_id(a)
    return na is not None and na == normalize_id(b)
