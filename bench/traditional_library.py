"""The CMRC 2018 trial library and its questions written in Traditional Chinese, Taiwan usage.

A library of Traditional articles asked in Traditional (a DRCD-like corpus) must rank as its
Simplified original does: the bot normalizes both to Simplified, Taiwan vocabulary included
(軟體 -> 软件, 辛巴威 -> 津巴布韦). This writes such a library with OpenCC's s2twp (characters and
Taiwan phrases) and the two question files to score like for like:

    .venv/bin/python bench/traditional_library.py --cmrc ../shared/eval/cmrc2018_trial --out /tmp/cmrc_tw
    python ../shared/tools/score_retrieval.py /tmp/cmrc_tw/questions.yaml --seeds /tmp/cmrc_tw/seeds --python .venv/bin/python
    python ../shared/tools/score_retrieval.py /tmp/cmrc_tw/questions_simplified.yaml \
        --seeds ../shared/eval/cmrc2018_trial/seeds --python .venv/bin/python

A gold string converted alone may come out otherwise than inside its passage (并 is 並 alone but
併 in 并入): a question whose converted gold strings are all absent from the converted library is
left out of both files (counted), so the two scores compare the same questions.
"""

from __future__ import annotations

import argparse
import re
import sys
import unicodedata
from pathlib import Path

import opencc
import yaml

# What the shared scorer ignores when it looks for a gold string: whitespace and punctuation.
_DROP = re.compile(r"[\W_]+", re.UNICODE)


def matchable(text: str) -> str:
    """text as the scorer compares it: NFKC, lower case, without whitespace and punctuation."""
    return _DROP.sub("", unicodedata.normalize("NFKC", text).lower())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cmrc", type=Path, required=True, help="the cmrc2018_trial folder (seeds/, questions.yaml)")
    parser.add_argument("--out", type=Path, required=True, help="where to write seeds/ and the two question files")
    args = parser.parse_args(argv)
    convert = opencc.OpenCC("s2twp").convert
    seeds = args.out / "seeds"
    seeds.mkdir(parents=True, exist_ok=True)
    library = []
    for path in sorted((args.cmrc / "seeds").iterdir()):
        text = convert(path.read_text(encoding="utf-8"))
        (seeds / path.name).write_text(text, encoding="utf-8")
        library.append(matchable(text))
    whole = "\n".join(library)
    raw = yaml.safe_load((args.cmrc / "questions.yaml").read_text(encoding="utf-8"))
    kept, simplified, dropped = [], [], 0
    for case in raw["cases"]:
        gold = [convert(g) for g in case.get("gold", [])]
        if case.get("gold") and not any(matchable(g) in whole for g in gold):
            dropped += 1
            continue
        kept.append({**case, "q": convert(case["q"]), "gold": gold})
        simplified.append(case)
    for name, cases in (("questions.yaml", kept), ("questions_simplified.yaml", simplified)):
        (args.out / name).write_text(yaml.safe_dump({**raw, "cases": cases}, allow_unicode=True, sort_keys=False),
                                     encoding="utf-8")
    print(f"{len(library)} articles and {len(kept)} questions written to {args.out} "
          f"({dropped} left out: their gold strings converted alone are not in the converted library)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
