"""Bring any Chinese text to one form for matching: width, case, script and Taiwan vocabulary.

Questions and passages go through the same `Normalizer.normalize_with_map`, so a question typed in
Traditional script or with Taiwan vocabulary (晶片, 軟體, 網路) meets a Simplified passage (芯片, 软件,
网络) and the other way round. Every step keeps a map from the normalized text back to the
original, so a matched word can be highlighted in the passage exactly as the article wrote it.

1. NFKC (full width to half width) and lower case.
2. Traditional to Simplified characters (OpenCC's t2s tables, character by character where a
   phrase would change the length).
3. Taiwan phrases to their mainland form, by longest match over OpenCC's TWPhrasesRev table (the
   table behind OpenCC's tw2sp): a phrase is mapped only when jieba's general dictionary counts
   the mainland form as commoner, so a word that mainland Chinese uses in its own sense (程序,
   执行, 元件) is never rewritten.
4. The aspect particle: Taiwan writes 着 (随着, 意味着, 看着) as 著, which t2s leaves alone, since
   著 is Simplified too, read zhù (著名, 显著). A 著 becomes 着 unless a dictionary word holding it
   there is commoner as written than with 着.
5. Variant forms t2s keeps, each for the mainland one: 甚么 (甚麼) for 什么, 妳 for 你, 牠 for 它,
   祂 for 他; so a question word written so is still one (甚麼時候 asks a date as 什么时候 does).
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from pathlib import Path

import opencc

log = logging.getLogger(__name__)

# A Taiwan phrase whose own frequency in jieba's dictionary is below this is not a mainland word
# at all (执行长 for 首席执行官), so it maps even where the mainland form is a rare compound.
_RARE_IN_MAINLAND = 30
# 著 read zhù, and 着 (the particle, or zháo as in 着手), in the longest words that hold them.
_ZHU, _ZHE = "著", "着"
_LONGEST_ZHU_WORD = 4
_VARIANT_CHARS = str.maketrans({"妳": "你", "牠": "它", "祂": "他"})
_VARIANT_WORD, _STANDARD_WORD = "甚么", "什么"
_VARIANTS = tuple(map(chr, _VARIANT_CHARS))


class Normalizer:
    """Normalizes text and maps each normalized character back to its source character."""

    def __init__(self, general_frequency: dict[str, int]) -> None:
        self._t2s = opencc.OpenCC("t2s")
        self._traditional = _traditional_chars()
        self._changing = _changing_keys()
        self._phrases = _taiwan_phrases(self._t2s, general_frequency)
        self._frequency = general_frequency
        # One alternation, longest phrase first, so the regex engine does the longest match in C.
        keys = sorted(self._phrases, key=len, reverse=True)
        self._phrase_pattern = re.compile("|".join(map(re.escape, keys))) if keys else None
        # The phrases by their first character, in the alternation's order (longest first), and
        # where such a character is: _phrase_matches tries them only there.
        self._phrases_by_first: dict[str, list[str]] = {}
        for key in keys:
            self._phrases_by_first.setdefault(key[0], []).append(key)
        self._phrase_starts = re.compile("[" + "".join(map(re.escape, self._phrases_by_first)) + "]") if keys else None
        self._longest_phrase = max(map(len, keys), default=0)
        # A phrase is at a place only where its first two characters are (or its one): most places
        # of a first character are passed over by one look-up.
        self._phrase_heads = frozenset(key[:2] for key in keys)

    @property
    def phrase_targets(self) -> frozenset[str]:
        """The mainland words Taiwan phrases become (added to jieba so each stays one word)."""
        return frozenset(self._phrases.values())

    def normalize(self, text: str) -> str:
        """NFKC, lower case, Simplified script and mainland vocabulary."""
        return self.normalize_with_map(text)[0]

    def normalize_with_map(self, text: str) -> tuple[str, list[int] | None]:
        """The normalized text and, when its length changed, each character's source index."""
        norm = unicodedata.normalize("NFKC", text).lower()
        index: list[int] | None = None
        if len(norm) != len(text):
            # Rare (… becomes ...): normalize char by char to keep a map back to the original.
            pieces = [unicodedata.normalize("NFKC", ch).lower() for ch in text]
            norm = "".join(pieces)
            index = [i for i, piece in enumerate(pieces) for _ in piece]
        if (self._traditional is None or not self._traditional.isdisjoint(norm)) and self._may_change(norm):
            converted = self._t2s.convert(norm)
            if len(converted) != len(norm):
                # Keep offsets exact: fall back to a per-character conversion.
                converted = "".join(self._t2s.convert(ch)[:1] or ch for ch in norm)
            norm = converted
        matches = self._phrase_matches(norm) if self._phrase_pattern is not None else []
        if matches:
            norm, index = self._map_phrases(norm, index, matches)
        # Last: one character for one, so the map stays as it is.
        norm = replace_variants(norm)
        if _VARIANT_WORD in norm:
            norm = norm.replace(_VARIANT_WORD, _STANDARD_WORD)
        return (self._particles(norm) if _ZHU in norm else norm), index

    def local_form(self, text: str) -> str | None:
        """text's NFKC lower case form when each of its characters is normalized on its own: it
        keeps text's length and holds no Traditional character, Taiwan phrase, 甚么 or 著, so
        normalize(text) is replace_variants(form); else None."""
        norm = unicodedata.normalize("NFKC", text).lower()
        if len(norm) != len(text) or self._traditional is None or not self._traditional.isdisjoint(norm):
            return None
        if _VARIANT_WORD in norm or _ZHU in norm or (self._phrase_pattern is not None and self._phrase_matches(norm)):
            return None
        return norm

    def joins(self, texts: list[str], forms: list[str]) -> bool:
        """Whether the texts joined are normalized as each alone: given their local forms (none
        None), the join's NFKC lower case form is theirs joined (checked), so it keeps its length
        and holds no Traditional character or 著 (none of theirs does), and no Taiwan phrase or
        甚么 spans a place where two meet (checked there): normalize of the join is then
        replace_variants of the forms joined."""
        if self._traditional is None:
            return False
        joined = "".join(forms)
        if unicodedata.normalize("NFKC", "".join(texts)).lower() != joined:
            return False
        reach = max(self._longest_phrase, len(_VARIANT_WORD)) - 1
        at = 0
        for form in forms[:-1]:
            at += len(form)
            near = joined[max(0, at - reach):at + reach]
            if _VARIANT_WORD in near or (self._phrase_pattern is not None and self._phrase_matches(near)):
                return False
        return True

    def _particles(self, norm: str) -> str:
        """norm with each 著 that is the particle 着 written the Taiwan way turned into 着."""
        chars = list(norm)
        for at in (i for i, ch in enumerate(norm) if ch == _ZHU):
            kept = turned = 0
            for length in range(2, _LONGEST_ZHU_WORD + 1):
                for start in range(max(0, at - length + 1), min(at, len(norm) - length) + 1):
                    span = norm[start:start + length]
                    kept = max(kept, self._frequency.get(span, 0))
                    other = span[:at - start] + _ZHE + span[at - start + 1:]
                    turned = max(turned, self._frequency.get(other, 0))
            if turned >= kept:
                chars[at] = _ZHE
        return "".join(chars)

    def _phrase_matches(self, norm: str) -> list[tuple[int, int, str]]:
        """(start, end, phrase) of the Taiwan phrases in norm: what the alternation's finditer
        matches (left to right, the first phrase in its order matching at a place, the next
        search from the match's end), tried only where a phrase's first character is."""
        out: list[tuple[int, int, str]] = []
        reached = 0
        by_first = self._phrases_by_first
        heads = self._phrase_heads
        for place in self._phrase_starts.finditer(norm):
            at = place.start()
            if at < reached or (norm[at:at + 2] not in heads and norm[at] not in heads):
                continue
            for phrase in by_first[norm[at]]:
                if norm.startswith(phrase, at):
                    reached = at + len(phrase)
                    out.append((at, reached, phrase))
                    break
        return out

    def _may_change(self, text: str) -> bool:
        """Whether t2s could change text: some key of its tables that it replaces by something
        else is in it. Every replacement is of a key found in the text, so without one the text
        comes out as it went in (什么 holds 么, which t2s changes only inside 么麼)."""
        if self._changing is None:
            return True
        chars, phrases = self._changing
        if not chars.isdisjoint(text):
            return True
        return any(phrase in text for ch in phrases.keys() & set(text) for phrase in phrases[ch])

    def _map_phrases(self, norm: str, index: list[int] | None,
                     matches: list[tuple[int, int, str]]) -> tuple[str, list[int] | None]:
        """Replace the matched Taiwan phrases, composing the character map."""
        out: list[str] = []
        where: list[int] = []
        pos = 0
        for start, end, phrase in matches:
            target = self._phrases[phrase]
            out.append(norm[pos:start])
            where.extend(range(pos, start))
            # Each new character points into the phrase; the last points at its last character,
            # so a token covering the whole phrase spans the whole source phrase.
            last = end - 1
            where.extend([min(start + k, last) for k in range(len(target) - 1)] + [last])
            out.append(target)
            pos = end
        out.append(norm[pos:])
        where.extend(range(pos, len(norm)))
        text = "".join(out)
        if len(text) == len(norm) and index is None:
            return text, None
        return text, where if index is None else [index[j] for j in where]


def replace_variants(form: str) -> str:
    """The variant characters t2s keeps replaced (妳 -> 你): a local form's last step (local_form)."""
    # Most texts hold none: a search for each costs less than translate's look-up of every character.
    return form.translate(_VARIANT_CHARS) if any(ch in form for ch in _VARIANTS) else form


def _taiwan_phrases(t2s: opencc.OpenCC, frequency: dict[str, int]) -> dict[str, str]:
    """Taiwan phrase -> mainland phrase, both in Simplified characters, from OpenCC's table."""
    path = Path(opencc.__file__).resolve().parent / "dictionary" / "TWPhrasesRev.txt"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        log.warning("OpenCC's Taiwan phrase table is missing; Taiwan vocabulary is not mapped")
        return {}

    def simplified(text: str) -> str:
        return "".join(t2s.convert(ch)[:1] or ch for ch in text)

    table = {}
    for line in lines:
        key, _, values = line.partition("\t")
        target = values.split(" ")[0]
        if not key or not target or not all(_is_han(ch) for ch in key + target):
            continue
        key, target = simplified(key), simplified(target)
        own = frequency.get(key, 0)
        if key != target and (own < frequency.get(target, 0) or own < _RARE_IN_MAINLAND):
            table[key] = target
    return table


def _is_han(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff"


def _changing_keys() -> tuple[frozenset[str], dict[str, tuple[str, ...]]] | None:
    """The keys of t2s's tables (read as its converter reads them) whose value is not the key
    itself: the one-character ones, and the longer ones by their first character. None without
    the tables."""
    folder = Path(opencc.__file__).resolve().parent / "dictionary"
    chars: set[str] = set()
    phrases: dict[str, list[str]] = {}
    try:
        for name in ("TSPhrases.txt", "TSCharacters.txt"):
            for line in (folder / name).read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                key, value = line.strip().split("\t")
                if value == key:
                    continue
                if len(key) == 1:
                    chars.add(key)
                else:
                    phrases.setdefault(key[0], []).append(key)
    except (OSError, ValueError):
        return None
    return frozenset(chars), {ch: tuple(keys) for ch, keys in phrases.items()}


def in_script_of(text: str, model: str) -> str:
    """text in Traditional characters when model is written in them (a notice that puts a word of
    ours into a Traditional question: 誰反对開源 -> 誰反對開源), else text as it is."""
    return _s2t().convert(text) if simplified_chars(model) != model else text


@functools.lru_cache(maxsize=1)
def _s2t() -> opencc.OpenCC:
    return opencc.OpenCC("s2t")


def simplified_chars(text: str) -> str:
    """text with each Traditional character turned into its Simplified one, one for one (OpenCC's
    character table, no phrases, no other change): patterns written in Simplified Chinese read a
    Traditional text this way, and a match's offsets are the original's."""
    return text.translate(_character_table())


@functools.lru_cache(maxsize=1)
def _character_table() -> dict[int, str]:
    """OpenCC's t2s characters as a translate table: each to its first Simplified form."""
    path = Path(opencc.__file__).resolve().parent / "dictionary" / "TSCharacters.txt"
    table: dict[int, str] = {}
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition("\t")
            value = value.split(" ")[0]
            if len(key) == 1 and len(value) == 1 and key != value:
                table[ord(key)] = value
    except OSError:
        log.warning("OpenCC's character table is missing; Traditional text is read as it is")
    return table


def _traditional_chars() -> frozenset[str] | None:
    """Characters that t2s would change; text without any of them skips the (slow) converter."""
    folder = Path(opencc.__file__).resolve().parent / "dictionary"
    chars: set[str] = set()
    try:
        for line in (folder / "TSCharacters.txt").read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition("\t")
            if key and value.split(" ")[0] != key:
                chars.add(key)
        for line in (folder / "TSPhrases.txt").read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition("\t")
            value = value.split(" ")[0]
            chars.update(k for k, v in zip(key, value) if k != v)
    except OSError:
        # Without the tables, convert everything: slower, never wrong.
        log.warning("OpenCC dictionary files not found; converting every text")
        return None
    return frozenset(chars)
