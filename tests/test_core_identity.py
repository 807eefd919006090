"""Owner and address keys (W11 other properties, B2 de-duplication)."""

from leadtui.core.identity import address_key, owner_key


def test_w11_owner_key_ignores_accents_case_and_punctuation():
    assert owner_key("Héctor  Peña", "9 Home Rd.", "33101") == owner_key(
        "HECTOR pena", "9 home road", "33101-0001"
    )


def test_b2_address_key_normalises_suffixes_directions_and_zip5():
    assert address_key("123 North Main Street, Apt 4", "33101-1234") == "123 n main st apt 4|33101"
