"""Every sentence the bot says to a user, in Chinese and English, and the choice between them."""

from __future__ import annotations

import re

# key -> {"zh": ..., "en": ...}; str.format placeholders are filled by say().
# Sections: engine (bot.conversation), console, telegram. Add keys; don't rename used ones.
TEXTS: dict[str, dict[str, str]] = {
    # --- engine ---------------------------------------------------------------------------
    # --- console --------------------------------------------------------------------------
    # --- telegram -------------------------------------------------------------------------
}

_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def say(key: str, lang: str, **values: object) -> str:
    """The sentence for key in lang ("zh" or "en"), with values filled in."""
    entry = TEXTS[key]
    return entry.get(lang, entry["zh"]).format(**values)


def detect_lang(text: str, hint: str | None = None) -> str:
    """'en' for an English question or an English-speaking user with no Chinese in the text, else 'zh'."""
    if _HAN.search(text or ""):
        return "zh"
    if _LATIN_WORD.search(text or ""):
        return "en"
    return "en" if (hint or "").lower().startswith("en") else "zh"
