"""Tests for sfemu.ids against real ids recorded from Salesforce orgs."""

import random

import pytest

from sfemu import ids

# Real 18-character ids and where they were seen (shared/reference/salesforce-api.md).
REAL_IDS = [
    "0H43X0000000tw9SAA",  # ConnectedApplication
    "0Pa4P00000BpdOkSAJ",  # PermissionSetAssignment, AUDIT test-user-assignments.json (v65)
    "0054P00000AaGueQAF",  # User, same record
    "1103h00001wg5TMAAY",  # ObjectPermissions, v49 query output
    "00000002PwNZ001AID",  # synthetic "implied" ObjectPermissions row, v49 query output
    "a0D30000001n7PiEAI",  # worked example, gammone.com 15->18 article
]


@pytest.mark.parametrize("real", REAL_IDS)
def test_real_ids_checksum(real):
    assert ids.is_valid_id(real)
    assert ids.to18(real[:15]) == real
    assert ids.to15(real) == real[:15]
    assert ids.key_prefix(real) == real[:3]


@pytest.mark.parametrize("real", REAL_IDS)
def test_real_ids_case_insensitive_18(real):
    # The 18-char form is case-safe: lower/upper-casing it still names the same record.
    assert ids.normalize_id(real.lower()) == real
    assert ids.normalize_id(real.upper()) == real
    assert ids.same_id(real.lower(), real[:15])


@pytest.mark.parametrize(
    "bad",
    [
        "0054P00000AaGueQAG",  # wrong checksum
        "0054P00000AaGueQA",  # 17 chars
        "0054P00000AaGue",  # 15 chars: valid, see below
        "0054P00000AaGu",  # 14
        "0054P00000AaGue!AF",  # punctuation
        "0054P00000AaGuéQAF",  # non-ASCII letter
        "",
        None,
        12345,
    ],
)
def test_is_valid_id_rejects(bad):
    expected = bad == "0054P00000AaGue"
    assert ids.is_valid_id(bad) is expected


def test_15_char_ids_are_case_sensitive():
    # Different case in the 15-char form is a different record.
    assert not ids.same_id("0054P00000AaGue", "0054P00000AAGue")
    assert ids.to18("0054P00000AAGue") != ids.to18("0054P00000AaGue")


def test_lowercased_18_with_wrong_suffix_is_not_an_id():
    # Suffix says char 1 of chunk 1 is uppercase but it is a digit: cannot be a real id.
    assert ids.normalize_id("0054P00000AaGueZAF") is None
    assert ids.normalize_id("0054P00000AaGue9AF") is None


def test_new_id_deterministic_and_valid():
    a = ids.new_id("005", 1, 1)
    assert a == ids.new_id("005", 1, 1)
    assert len(a) == 18 and ids.is_valid_id(a)
    assert a.startswith("005")
    assert ids.key_prefix(a) == "005"


def test_new_id_unique_across_orgs_and_counters():
    seen = set()
    for org in (0, 1, 2, 61, 62, 199, 3843):
        for counter in (0, 1, 61, 62, 62**5, 62**10 - 1):
            i = ids.new_id("0PS", org, counter)
            assert ids.is_valid_id(i)
            assert i not in seen
            # case-insensitive uniqueness matters too: 18-char ids are compared case-insensitively
            assert i.lower() not in {s.lower() for s in seen}
            seen.add(i)


@pytest.mark.parametrize(
    "args",
    [("05", 1, 1), ("0P!", 1, 1), ("005", -1, 1), ("005", 3844, 1), ("005", 1, -1), ("005", 1, 62**10), ("005", 1, "1")],
)
def test_new_id_rejects_bad_input(args):
    with pytest.raises(ValueError):
        ids.new_id(*args)


@pytest.mark.parametrize("bad", ["abc", "0054P00000AaGueQAG", "", None])
def test_to18_rejects(bad):
    with pytest.raises(ValueError):
        ids.to18(bad)


@pytest.mark.parametrize("bad", ["abc", "0054P00000AaGueZAF", "", None, "0054P00000AaGueQA"])
def test_to15_rejects(bad):
    with pytest.raises(ValueError):
        ids.to15(bad)


def test_case_restored_from_suffix():
    # An 18-char id is read case-insensitively: the suffix decides the case of the first 15 chars,
    # so a mismatching suffix names a different record rather than being an error.
    assert ids.to15("0054P00000AaGueQAG") == "0054P00000aAGue"
    assert ids.is_valid_id("0054P00000aAGueQAG")


def test_random_roundtrip():
    rnd = random.Random(7)
    for _ in range(500):
        id15 = "".join(rnd.choice(ids.BASE62) for _ in range(15))
        id18 = ids.to18(id15)
        assert ids.is_valid_id(id18)
        assert ids.to15(id18) == id15
        assert ids.normalize_id(id18.swapcase()) == id18
