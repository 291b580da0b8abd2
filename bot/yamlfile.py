"""Read a YAML file, turning every way it can fail into one sentence that names the file."""

from __future__ import annotations

from pathlib import Path

import yaml

# The C loader when PyYAML has it: the glossary is long and start-up time counts.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path, what: str, error: type[Exception]) -> object:
    """The file's parsed content; error(sentence) when it is missing, unreadable or not YAML.

    what names the file's role in the sentence, e.g. "config file" or "sources file".
    """
    try:
        return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_LOADER)
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read {what} ({exc.__class__.__name__})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise error(f"{path}: not valid YAML{where}") from None
