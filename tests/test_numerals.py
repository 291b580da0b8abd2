"""Numbers in the other script (bot.numerals): what a question's number is also looked for as."""

from __future__ import annotations

import pytest

from bot.numerals import chinese_forms, chinese_value, ordinal_forms, other_forms


@pytest.mark.parametrize("text, value", [
    ("二十三", 23), ("十五", 15), ("一百零五", 105), ("两千", 2000), ("一万零二十", 10020), ("三十五万", 350000),
    ("一九九八", 1998), ("二〇二五", 2025), ("第七", 7), ("二十三岁", 23), ("两千零五", 2005),
    ("一", None), ("十分", None), ("万一", None), ("一些", None), ("三五十", None), ("十", None), ("", None),
])
def test_a_chinese_numeral_is_read(text: str, value) -> None:
    assert chinese_value(text) == value


@pytest.mark.parametrize("value, forms", [
    (23, ("二十三",)), (15, ("十五",)), (105, ("一百零五",)), (110, ("一百一十",)), (1005, ("一千零五", "一零零五", "一〇〇五")),
    (200, ("两百", "二百")), (10020, ("一万零二十",)), (350000, ("三十五万",)),
    (1998, ("一千九百九十八", "一九九八")), (3, ()), (0, ()),
])
def test_a_number_is_written_as_chinese_writes_it(value: int, forms) -> None:
    assert chinese_forms(value) == forms


def test_every_reading_reads_back_to_its_number() -> None:
    for value in [*range(10, 2200), 9999, 10001, 10010, 10100, 11000, 99999, 100000, 120034, 99_999_999]:
        assert all(chinese_value(form) == value for form in chinese_forms(value)), value


def test_a_token_is_turned_into_the_other_script_both_ways() -> None:
    assert other_forms("23") == ("二十三",)
    assert other_forms("二十三") == ("23",)
    assert other_forms("123456789") == ()          # longer than a number people write: a code
    assert other_forms("deepseek") == ()


def test_a_number_after_di_is_an_ordinal_too() -> None:
    assert ordinal_forms("3") == ("第三",) and ordinal_forms("12") == ("第十二",) and ordinal_forms("三") == ()
