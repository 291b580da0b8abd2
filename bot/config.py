"""Load and check quotebot's configuration once, into a frozen object that is passed down."""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from bot.yamlfile import read_yaml

ENV_TOKEN = "TELEGRAM_BOT_TOKEN"
ENV_DB = "QUOTEBOT_DB"
ENV_WEBHOOK_SECRET = "QUOTEBOT_WEBHOOK_SECRET"


class ConfigError(Exception):
    """A configuration file is missing, unreadable or holds a bad key or value."""


@dataclass(frozen=True)
class CorpusConfig:
    seeds_dir: Path
    sources_file: Path
    max_passage_chars: int = 220
    min_passage_chars: int = 24


@dataclass(frozen=True)
class RetrievalConfig:
    aliases_file: Path
    userdict_file: Path
    stopwords_file: Path
    model_file: Path                 # the fitted ranking and relevance numbers (bench/fit_ranking.py)
    function_words_file: Path        # jieba's function words, for term necessity
    english_file: Path               # general English -> Chinese dictionary (bench/build_english.py)
    top_k: int = 3
    cache_dir: Path | None = None  # always set after load_config: None means the user's cache folder


@dataclass(frozen=True)
class HistoryConfig:
    db_path: Path | None = None  # always set after load_config: None means the user's data folder
    max_turns_per_chat: int = 200
    max_age_days: int | None = None  # None: turns are dropped by count only


@dataclass(frozen=True)
class WebhookConfig:
    listen: str = "127.0.0.1"
    port: int = 8443
    url: str | None = None
    secret_token_file: Path | None = None


@dataclass(frozen=True)
class MetricsConfig:
    enabled: bool = False
    listen: str = "127.0.0.1"
    port: int = 9464


@dataclass(frozen=True)
class LimitsConfig:
    """Telegram's outgoing limits (its Bots FAQ), kept by the bot's own pacer, and the group backlog bound."""
    overall_per_second: int = 30           # "no more than 30 messages per second" in all
    group_per_minute: int = 20             # "no more than 20 messages per minute" in one group
    private_per_second: float = 1.0        # "more than one message per second" in one chat...
    private_burst: int = 3                 # ... "short bursts that go over this limit" are allowed
    group_backlog_seconds: float = 30.0    # a group reply that would wait longer is not sent


@dataclass(frozen=True)
class DeliveryConfig:
    """How hard the bot tries to get an answer through, and for how long a question stays worth answering."""
    flood_retries: int = 10                # 429 retry_after honoured by the rate limiter this many times
    retry_first_seconds: float = 0.5       # first wait after a network error or a 5xx; doubles...
    retry_max_seconds: float = 10.0        # ... up to this
    max_age_seconds: float = 3600.0        # older questions are not answered any more (outage, crash)
    edit_window_seconds: float = 900.0     # an edited question is answered again within this


@dataclass(frozen=True)
class TelegramConfig:
    token_file: Path | None = None
    api_base_url: str = "https://api.telegram.org/bot"
    mode: str = "polling"
    poll_interval: float = 0.0
    questions_per_minute: int = 20
    rate_limiter: bool = True
    webhook: WebhookConfig = field(default_factory=WebhookConfig)
    admins: tuple[int, ...] = ()     # Telegram user ids allowed /stats, /reload and uploads
    max_upload_bytes: int = 1_048_576
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)


@dataclass(frozen=True)
class Config:
    source: Path  # the file this was read from, for messages
    corpus: CorpusConfig
    retrieval: RetrievalConfig
    history: HistoryConfig
    telegram: TelegramConfig

    def with_overrides(self, **sections: object) -> "Config":
        """A copy with some fields replaced, e.g. with_overrides(history={"db_path": p})."""
        changes = {}
        for name, values in sections.items():
            changes[name] = dataclasses.replace(getattr(self, name), **values)
        return dataclasses.replace(self, **changes)


# Values that must be positive or within a range; checked after the types.
_RANGES: dict[str, tuple[float, float]] = {
    "corpus.max_passage_chars": (40, 5000),
    "corpus.min_passage_chars": (1, 1000),
    "retrieval.top_k": (1, 10),
    "history.max_turns_per_chat": (2, 1_000_000),
    "history.max_age_days": (1, 36_500),
    "telegram.poll_interval": (0.0, 60.0),
    "telegram.questions_per_minute": (1, 10_000),
    "telegram.webhook.port": (1, 65535),
    "telegram.metrics.port": (1, 65535),
    # Telegram lets a bot download files up to 20 MB (getFile), so a larger bound could never be met.
    "telegram.max_upload_bytes": (1024, 20_000_000),
    "telegram.limits.overall_per_second": (1, 1000),
    "telegram.limits.group_per_minute": (1, 1000),
    "telegram.limits.private_per_second": (0.01, 100.0),
    "telegram.limits.private_burst": (1, 100),
    "telegram.limits.group_backlog_seconds": (0.0, 3600.0),
    "telegram.delivery.flood_retries": (0, 1000),
    "telegram.delivery.retry_first_seconds": (0.01, 600.0),
    "telegram.delivery.retry_max_seconds": (0.01, 3600.0),
    "telegram.delivery.max_age_seconds": (1.0, 86_400.0),
    "telegram.delivery.edit_window_seconds": (0.0, 172_800.0),
}
_CHOICES: dict[str, tuple[str, ...]] = {"telegram.mode": ("polling", "webhook")}


def default_config_path() -> Path:
    """The bundled bot.yaml: the repository's config/, which an installed wheel carries as bot/settings/."""
    package = Path(__file__).resolve().parent
    installed = package / "settings" / "bot.yaml"
    # An editable install or a source checkout has no bot/settings/: use the repository's file.
    return installed if installed.exists() else package.parent / "config" / "bot.yaml"


def load_config(path: Path | str | None = None, env: typing.Mapping[str, str] | None = None) -> Config:
    """Read, check and freeze a config file; environment overrides apply to the database path."""
    env = os.environ if env is None else env
    path = Path(path) if path is not None else default_config_path()
    config = _read_config(path)
    if env.get(ENV_DB):
        config = config.with_overrides(history={"db_path": Path(env[ENV_DB]).expanduser()})
    return _fill_default_dirs(config, env)


def _read_config(path: Path) -> Config:
    """The config file as written: checked, paths resolved, nothing taken from the environment."""
    raw = read_yaml(path, "config file", ConfigError)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    values = _build(Config, raw, path, prefix="", skip={"source"}, optional=_bundled_sections(path))
    return Config(source=path, **values)


def _bundled_sections(path: Path) -> dict[str, object]:
    """The bundled config's sections, which stand in for what a user's own file leaves out.

    So a file holding only `telegram: {token_file: ...}` or `retrieval: {top_k: 5}` still finds
    the bundled articles and dictionaries.
    """
    bundled = default_config_path()
    if path.resolve() == bundled.resolve():
        return {}
    base = _read_config(bundled)
    return {f.name: getattr(base, f.name) for f in dataclasses.fields(Config) if f.name != "source"}


def _fill_default_dirs(config: Config, env: typing.Mapping[str, str]) -> Config:
    """Put the database and the index cache in the user's data and cache folders unless set."""
    home = Path(env.get("HOME") or Path.home())
    data = Path(env.get("XDG_DATA_HOME") or home / ".local" / "share") / "quotebot"
    cache = Path(env.get("XDG_CACHE_HOME") or home / ".cache") / "quotebot"
    if config.history.db_path is None:
        config = config.with_overrides(history={"db_path": data / "history.sqlite3"})
    if config.retrieval.cache_dir is None:
        config = config.with_overrides(retrieval={"cache_dir": cache})
    return config


def _build(cls: type, raw: dict, path: Path, prefix: str, skip: set[str] = frozenset(),
           optional: dict[str, object] | None = None) -> dict:
    """Turn one YAML mapping into keyword arguments for the dataclass cls, checking each key.

    optional: values for fields that have no default but may be left out.
    """
    optional = optional or {}
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in skip}
    for key in raw:
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError(f"{path}: unknown key '{prefix}{key}' (expected one of: {known})")
    values = {}
    for name, fld in fields.items():
        key = f"{prefix}{name}"
        if name not in raw:
            if name in optional:
                values[name] = optional[name]
            elif fld.default is dataclasses.MISSING and fld.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{path}: missing key '{key}'")
            continue
        values[name] = _coerce(hints[name], raw[name], path, key, optional.get(name))
    return values


def _coerce(hint: object, value: object, path: Path, key: str, fallback: object = None) -> object:
    """Check one value against its annotated type, resolving paths against the config's folder."""
    optional = False
    if isinstance(hint, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = len(args) < len(typing.get_args(hint))
        hint = args[0]
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{path}: key '{key}' must have a value")
    if typing.get_origin(hint) is tuple:
        return _coerce_tuple(hint, value, path, key)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: key '{key}' must be a mapping")
        # Keys a section leaves out come from the bundled config's same section (fallback).
        inherited = vars(fallback) if dataclasses.is_dataclass(fallback) else None
        return hint(**_build(hint, value, path, prefix=f"{key}.", optional=inherited))
    if hint is Path:
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{path}: key '{key}' must be a path (a string), got {value!r}")
        return (path.parent / Path(value).expanduser()).resolve()
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: key '{key}' must be true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{path}: key '{key}' must be a whole number, got {value!r}")
    elif hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{path}: key '{key}' must be a number, got {value!r}")
        value = float(value)
    elif hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path}: key '{key}' must be a string, got {value!r}")
        if key in _CHOICES and value not in _CHOICES[key]:
            raise ConfigError(f"{path}: key '{key}' must be one of {', '.join(_CHOICES[key])}, got {value!r}")
    return _check_range(value, path, key)


def _coerce_tuple(hint: object, value: object, path: Path, key: str) -> tuple:
    """A YAML list as a tuple, each item checked against the tuple's item type (tuple[int, ...])."""
    if not isinstance(value, list):
        raise ConfigError(f"{path}: key '{key}' must be a list, got {value!r}")
    (item_hint, _) = typing.get_args(hint)
    items = []
    for item in value:
        if item_hint is int and (isinstance(item, bool) or not isinstance(item, int) or item <= 0):
            raise ConfigError(f"{path}: key '{key}' must list positive whole numbers, got {item!r}")
        items.append(item)
    return tuple(items)


def _check_range(value: object, path: Path, key: str) -> object:
    """value, or ConfigError when the key has a range and value lies outside it."""
    if key in _RANGES:
        low, high = _RANGES[key]
        if not low <= value <= high:
            raise ConfigError(f"{path}: key '{key}' must be between {low:g} and {high:g}, got {value!r}")
    return value
