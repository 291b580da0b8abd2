"""jieba, imported without pkg_resources: the bot's modules take jieba from here.

jieba's `_compat` imports pkg_resources only to open jieba's own data files, and opens them by
path when that import fails. Importing pkg_resources reads the metadata of every installed
distribution: measured here, `import jieba` 0.21 s with it and 0.08 s without (median of 15
runs), a seventh of the bundled library's first answer. So while jieba is first imported,
pkg_resources is made unimportable (None in sys.modules: its import raises ImportError), and
then importable again for whoever asks for it later.
"""

from __future__ import annotations

import sys

_BLOCKED = "jieba" not in sys.modules and "pkg_resources" not in sys.modules
if _BLOCKED:
    sys.modules["pkg_resources"] = None  # type: ignore[assignment]
try:
    import jieba
    import jieba.finalseg  # noqa: F401
finally:
    if _BLOCKED:
        del sys.modules["pkg_resources"]

__all__ = ["jieba"]
