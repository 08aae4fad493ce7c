"""Registers' personal data: ID numbers checked, hashed with a key kept outside the database, masked."""

from __future__ import annotations

import stat

import pytest

from tests.test_registers import ID_NUMBERS
from worktrack.registers.identity import (
    id_number_problem,
    load_key,
    mask_id_number,
    mask_name,
    normalise_id_number,
    person_key,
)


def test_the_test_data_holds_valid_id_numbers():
    assert [id_number_problem(n) for n in ID_NUMBERS] == [None] * len(ID_NUMBERS)


@pytest.mark.parametrize("text, why", [
    ("43010319480506123", "18 位"),
    ("4301031948050612345", "18 位"),
    ("43010319480506123A", "最后一位"),
    ("430103194802301234", "出生日期"),  # 1948-02-30
    ("430103194805061235", "校验位"),
])
def test_an_invalid_id_number_is_named_with_its_reason(text, why):
    assert why in id_number_problem(text)


def test_id_numbers_are_normalised_before_checking():
    assert normalise_id_number(" ４３０１０３ 1950 0712 456x ") == "43010319500712456X"


def test_masks():
    assert mask_id_number("430103194805061234") == "4301**********1234"
    assert [mask_name(n) for n in ("张三明", "李四", "欧阳秀英", "王")] == ["张*明", "李*", "欧**英", "王"]


def test_the_key_file_is_created_owner_only_on_first_use_and_reused(tmp_path):
    path = tmp_path / "keys" / "register.key"
    key = load_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(key) == 32
    assert load_key(path) == key


def test_a_key_file_readable_by_others_is_made_owner_only(tmp_path):
    path = tmp_path / "register.key"
    path.write_text("ab" * 32)
    path.chmod(0o644)
    load_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_hash_depends_on_the_key_and_not_only_on_the_number():
    number = ID_NUMBERS[0]
    assert person_key(number, b"a" * 32) == person_key(number, b"a" * 32)
    assert person_key(number, b"a" * 32) != person_key(number, b"b" * 32)
    assert number not in person_key(number, b"a" * 32)
