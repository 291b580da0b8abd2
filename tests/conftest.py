"""Shared fixtures: an isolated environment, the bundled config pointed at tmp_path, and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Config, load_config
from bot.corpus import load_corpus
from bot.retrieval import Retriever

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def isolated_env(tmp_path: Path) -> dict[str, str]:
    """Environment for subprocesses: HOME and XDG folders inside tmp_path, no QUOTEBOT_DB/token."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("QUOTEBOT_DB", "TELEGRAM_BOT_TOKEN", "QUOTEBOT_WEBHOOK_SECRET")}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"), XDG_CACHE_HOME=str(home / "cache"),
               PYTHONIOENCODING="utf-8", PYTHONUTF8="1")
    return env


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """The bundled config with its database and index cache inside tmp_path."""
    base = load_config(env={"HOME": str(tmp_path / "home")})
    return base.with_overrides(history={"db_path": tmp_path / "history.sqlite3"},
                               retrieval={"cache_dir": tmp_path / "cache"})


@pytest.fixture
def run_cli(isolated_env: dict[str, str], tmp_path: Path):
    """Run `python -m bot ARGS...` in a subprocess with stdin text; returns the CompletedProcess."""
    def run(*args: str, stdin: str = "", timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, text=True,
                              encoding="utf-8", capture_output=True, env=isolated_env,
                              cwd=tmp_path, timeout=timeout)
    return run


@pytest.fixture(scope="session")
def bundled_parts(tmp_path_factory: pytest.TempPathFactory):
    """(config, corpus, retriever) over the bundled articles, the index cached in a temporary
    folder; built once for the whole session (engines only read it)."""
    home = tmp_path_factory.mktemp("home")
    config = load_config(env={"HOME": str(home)}).with_overrides(retrieval={"cache_dir": home / "cache"})
    corpus = load_corpus(config.corpus)
    return config, corpus, Retriever(corpus, config.retrieval)

