"""A number written in the other script: 23 and 二十三, 1998 and 一九九八, 两千 and 2000.

Articles and questions write numbers either way ("严长寿23岁时做了什么？" of a passage saying
二十三岁), and jieba cuts each into tokens of its own script, so the two never meet. A question's
number is looked for in both forms (`bot.text`, as a synonym of the word); passages are indexed
as written.
"""

from __future__ import annotations

import re

_DIGITS = "零一二三四五六七八九"
_VALUE = {ch: i for i, ch in enumerate(_DIGITS)} | {"〇": 0, "两": 2}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_MYRIADS = {"万": 10_000, "亿": 100_000_000}
# A Chinese numeral as a question's token: its characters, optionally 第 before them (第三届 is
# 3 as much as 三届 is).
_CHINESE = re.compile(r"^第?(?P<n>[零〇一二两三四五六七八九十百千万亿]+)")
_ARABIC = re.compile(r"^\d{1,8}$")
# The largest number read or written: beyond it, a figure is a code or an identifier.
_LARGEST = 99_999_999


def chinese_value(text: str) -> int | None:
    """The value of a Chinese numeral (二十三 23, 一百零五 105, 三十五万 350000, 一九九八 1998,
    第七 7), None when text is no numeral or a single character without 第 (一直, 十分 are words)."""
    match = _CHINESE.match(text)
    if match is None or (len(match.group("n")) < 2 and not text.startswith("第")):
        return None
    numeral = match.group("n")
    if all(ch in _VALUE for ch in numeral):          # read digit by digit: 一九九八, 二〇二五
        return int("".join(str(_VALUE[ch]) for ch in numeral))
    total, section, digit = 0, 0, None
    for ch in numeral:
        if ch in "零〇":
            continue              # 一百零五: the zero only marks a place left empty
        if ch in _VALUE:
            if digit is not None:
                return None       # two digits running in a positional numeral (三五十): not one
            digit = _VALUE[ch]
        elif ch in _UNITS:
            section += (1 if digit is None else digit) * _UNITS[ch]
            digit = None
        else:                     # 万, 亿: everything so far counts that many times
            if not (total or section or digit):
                return None       # 万一 (in case), 亿万: no number before the myriad
            total = (total + section + (digit or 0)) * _MYRIADS[ch]
            section, digit = 0, None
    value = total + section + (digit or 0)
    return value if 0 < value <= _LARGEST else None


def chinese_forms(value: int) -> tuple[str, ...]:
    """How Chinese writes a number: its reading (二十三, 一百零五, 两千) and, for a year, its
    digits one by one (一九九八); none of one character (三 is in 三星 and 再三, 十 in 十分)."""
    if not 10 <= value <= _LARGEST:
        return ()
    reading = _reading(value)
    forms = [reading]
    if reading[0] == "二" and reading[1:2] in ("百", "千", "万"):
        forms.insert(0, "两" + reading[1:])           # 两千 as often as 二千
    if 1000 <= value <= 2099:
        digits = "".join(_DIGITS[int(d)] for d in str(value))
        forms += [digits, digits.replace("零", "〇")]  # 二〇二五 as often as 二零二五
    return tuple(form for form in dict.fromkeys(forms) if len(form) > 1)   # 十 alone is in 十分


def ordinal_forms(token: str) -> tuple[str, ...]:
    """第 with the number of a question's token that follows 第 (3 of 第3次 -> 第三, as jieba cuts
    第三次 in an article); () for a token that is no number."""
    if not _ARABIC.match(token) or not 0 < int(token) <= _LARGEST:
        return ()
    return ("第" + _reading(int(token)),)


def other_forms(token: str) -> tuple[str, ...]:
    """A question token's number in the other script: 23 -> 二十三; 二十三 -> 23 (and 二十三岁's
    二十三 -> 23); () for a token that is no number."""
    if _ARABIC.match(token):
        return chinese_forms(int(token))
    value = chinese_value(token)
    return (str(value),) if value is not None else ()


def _reading(value: int) -> str:
    """The reading of 1 <= value <= 99,999,999: 二十三, 一百零五, 一万零二十, 十五 (not 一十五)."""
    high, low = divmod(value, 10_000)
    if high:
        rest = _below_myriad(low, leading=False) if low else ""
        zero = "零" if 0 < low < 1000 else ""
        return _below_myriad(high, leading=True) + "万" + zero + rest
    return _below_myriad(low, leading=True)


def _below_myriad(value: int, leading: bool) -> str:
    """The reading of 1 <= value <= 9999; leading: 十五 rather than 一十五 when it opens the number."""
    out, zero = [], False
    for unit, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit, value = divmod(value, unit)
        if digit:
            if zero:
                out.append("零")
                zero = False
            if not (name == "十" and digit == 1 and leading and not out):
                out.append(_DIGITS[digit])
            out.append(name)
        elif out:
            zero = True
    return "".join(out).rstrip("零")
