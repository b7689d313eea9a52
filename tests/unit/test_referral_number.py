"""The referral number read out on the phone: short, unambiguous, derived from the referral id."""

import uuid

import pytest

from fhir_mappings.referral_number import ALPHABET, referral_number_from_id, referral_number_from_text


def test_the_number_is_eight_unambiguous_characters_derived_from_the_id() -> None:
    referral_id = "0123456789abcdef0123456789abcdef"
    number = referral_number_from_id(referral_id)
    assert number == referral_number_from_id(referral_id) and len(number) == 9 and number[4] == "-"
    assert set(number.replace("-", "")) <= set(ALPHABET) and not set("ILOU") & set(ALPHABET)
    assert referral_number_from_id("f" * 32) == "ZZZZ-ZZZZ"
    assert referral_number_from_id("0" * 32) == "0000-0000"


def test_distinct_ids_give_distinct_numbers() -> None:
    ids = [uuid.uuid4().hex for _ in range(2000)]
    assert len({referral_number_from_id(i) for i in ids}) == len(ids)


@pytest.mark.parametrize("bad", ["", "0" * 31, "G" * 32, "0" * 32 + "\n", "0" * 33])
def test_only_a_referral_id_has_a_number(bad: str) -> None:
    with pytest.raises(ValueError):
        referral_number_from_id(bad)


def test_typed_numbers_are_forgiven_case_spaces_hyphens_and_look_alikes() -> None:
    number = referral_number_from_id("a1b2c3d4e5f60718293a4b5c6d7e8f90")
    assert referral_number_from_text(number.lower()) == number
    assert referral_number_from_text(f"  {number.replace('-', ' ')} ") == number
    assert referral_number_from_text("10O1-1L1I") == "1001-1111"
    for bad in ("", "ABC", "UUUU-UUUU", "1234-56789", "<script>"):
        assert referral_number_from_text(bad) is None
