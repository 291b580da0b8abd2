"""Config loading: the bundled defaults, overrides, and errors that name the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.config import ConfigError, default_config_path, load_config

# The keys that have no default (and the four sections); every other key may be left out.
MINIMAL = {"corpus": {"seeds_dir": "articles", "sources_file": "s.yaml"},
           "retrieval": {"aliases_file": "a.yaml", "userdict_file": "u.txt", "stopwords_file": "w.txt"},
           "history": {}, "telegram": {}}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bot.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def write_valid_plus(tmp_path: Path, snippet: str) -> Path:
    """A config file: the minimal valid one with snippet's sections merged over it."""
    merged = {name: dict(section) for name, section in MINIMAL.items()}
    for name, value in yaml.safe_load(snippet).items():
        if isinstance(value, dict) and isinstance(merged.get(name), dict):
            merged[name].update(value)
        else:
            merged[name] = value
    return write(tmp_path, yaml.safe_dump(merged, allow_unicode=True))


def test_bundled_config_loads_and_fills_the_default_folders(tmp_path: Path) -> None:
    config = load_config(env={"HOME": str(tmp_path)})
    assert config.source == default_config_path()
    assert config.corpus.seeds_dir.is_dir()
    assert config.history.db_path == tmp_path / ".local" / "share" / "quotebot" / "history.sqlite3"
    assert config.retrieval.cache_dir == tmp_path / ".cache" / "quotebot"


def test_paths_are_relative_to_the_config_file_and_env_overrides_the_db(tmp_path: Path) -> None:
    path = write(tmp_path, yaml.safe_dump(MINIMAL))
    config = load_config(path, env={"HOME": str(tmp_path), "QUOTEBOT_DB": str(tmp_path / "x.db")})
    assert config.corpus.seeds_dir == (tmp_path / "articles").resolve()
    assert config.history.db_path == tmp_path / "x.db"
    assert config.history.max_turns_per_chat == 200 and config.retrieval.top_k == 3


def test_with_overrides_replaces_one_field_and_keeps_the_rest(tmp_path: Path) -> None:
    config = load_config(env={"HOME": str(tmp_path)})
    changed = config.with_overrides(history={"db_path": tmp_path / "h.db"})
    assert changed.history.db_path == tmp_path / "h.db"
    assert changed.history.max_turns_per_chat == config.history.max_turns_per_chat
    assert changed.corpus == config.corpus


@pytest.mark.parametrize("yaml_text, key, expected", [
    ("retrieval:\n  top_kk: 3\n", "retrieval.top_kk", "unknown key"),
    ("colour: blue\n", "colour", "unknown key"),
    ("telegram:\n  webhook:\n    prot: 80\n", "telegram.webhook.prot", "unknown key"),
    ("retrieval:\n  top_k: three\n", "retrieval.top_k", "whole number"),
    ("retrieval:\n  top_k: [1]\n", "retrieval.top_k", "must be a whole number"),
    ("telegram:\n  rate_limiter: yes please\n", "telegram.rate_limiter", "true or false"),
    ("corpus:\n  seeds_dir: 42\n", "corpus.seeds_dir", "must be a path"),
    ("history: 5\n", "history", "must be a mapping"),
    ("retrieval:\n  top_k: 0\n", "retrieval.top_k", "between 1 and 10"),
    ("retrieval:\n  model_file: 3\n", "retrieval.model_file", "must be a path"),
    ("history:\n  max_turns_per_chat: 1\n", "history.max_turns_per_chat", "between"),
    ("telegram:\n  webhook:\n    port: 70000\n", "telegram.webhook.port", "between 1 and 65535"),
    ("telegram:\n  mode: carrier-pigeon\n", "telegram.mode", "polling, webhook"),
    ("retrieval:\n  top_k: true\n", "retrieval.top_k", "whole number"),
    ("telegram:\n  admins: 12345\n", "telegram.admins", "must be a list"),
    ("telegram:\n  admins: [12345, alice]\n", "telegram.admins", "positive whole numbers"),
    ("history:\n  max_age_days: 0\n", "history.max_age_days", "between 1 and 36500"),
    ("telegram:\n  metrics:\n    enabled: sometimes\n", "telegram.metrics.enabled", "true or false"),
    ("telegram:\n  max_upload_bytes: 50000000\n", "telegram.max_upload_bytes", "between"),
])
def test_a_bad_key_or_value_names_the_file_the_key_and_what_is_expected(
        tmp_path: Path, yaml_text: str, key: str, expected: str) -> None:
    path = write_valid_plus(tmp_path, yaml_text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={"HOME": str(tmp_path)})
    message = str(caught.value)
    assert str(path) in message and f"'{key}'" in message and expected in message
    assert "\n" not in message


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yaml: config file not found"):
        load_config(tmp_path / "nope.yaml", env={})


def test_bad_yaml_names_the_file_and_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "retrieval:\n  top_k: 3\n  b: [0.5\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert str(path) in str(caught.value) and "not valid YAML at line" in str(caught.value)


def test_a_top_level_list_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mapping of sections"):
        load_config(write(tmp_path, "- a\n- b\n"), env={})


def test_sections_left_out_come_from_the_bundled_config(tmp_path: Path) -> None:
    bundled = load_config(env={})
    config = load_config(write(tmp_path, "telegram:\n  questions_per_minute: 5\n"), env={})
    assert config.telegram.questions_per_minute == 5
    assert config.corpus == bundled.corpus and config.retrieval.aliases_file == bundled.retrieval.aliases_file
    assert load_config(write(tmp_path, ""), env={}).corpus == bundled.corpus


def test_keys_left_out_of_a_section_come_from_the_bundled_config(tmp_path: Path) -> None:
    bundled = load_config(env={})
    config = load_config(write(tmp_path, "corpus:\n  max_passage_chars: 100\n"), env={})
    assert config.corpus.max_passage_chars == 100
    assert config.corpus.seeds_dir == bundled.corpus.seeds_dir
    assert config.corpus.min_passage_chars == bundled.corpus.min_passage_chars


def test_admins_and_metrics_are_read_into_the_frozen_config(tmp_path: Path) -> None:
    path = write_valid_plus(tmp_path, "telegram:\n  admins: [123, 456]\n  metrics: {enabled: true, port: 9999}\n")
    config = load_config(path, env={"HOME": str(tmp_path)})
    assert config.telegram.admins == (123, 456)
    assert (config.telegram.metrics.enabled, config.telegram.metrics.listen, config.telegram.metrics.port) == (
        True, "127.0.0.1", 9999)
    bundled = load_config(env={"HOME": str(tmp_path)})
    assert bundled.telegram.admins == () and not bundled.telegram.metrics.enabled
    assert bundled.history.max_age_days is None
