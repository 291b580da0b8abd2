"""The deployment files: the systemd unit passes `systemd-analyze verify` and is hardened; the example config loads."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import load_config

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
INSTALLED = "/opt/quotebot/bin/quotebot"


def systemd_analyze() -> str:
    """The systemd-analyze binary; the test fails (never skips) without it, as .ci/run installs it."""
    found = shutil.which("systemd-analyze")
    if not found:
        pytest.fail("systemd-analyze is missing: `apt-get install systemd` (.ci/run does it)", pytrace=False)
    return found


@pytest.fixture
def unit(tmp_path: Path) -> Path:
    """The unit with its ExecStart pointing at this environment's quotebot (verify checks it exists)."""
    quotebot = Path(sys.executable).parent / "quotebot"
    assert quotebot.exists(), "pip install -e . puts the quotebot command beside python"
    text = (DEPLOY / "quotebot.service").read_text(encoding="utf-8")
    assert INSTALLED in text
    path = tmp_path / "quotebot.service"
    path.write_text(text.replace(INSTALLED, str(quotebot)), encoding="utf-8")
    return path


def test_unit_verifies_without_a_single_complaint(unit: Path) -> None:
    done = subprocess.run([systemd_analyze(), "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    complaints = [line for line in (done.stdout + done.stderr).splitlines() if unit.name in line]
    assert complaints == []


def test_unit_runs_unprivileged_with_state_dir_credential_and_restart(unit: Path) -> None:
    settings = {}
    for line in unit.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            settings.setdefault(key, value)
    assert settings["User"] == "quotebot" and settings["NoNewPrivileges"] == "yes"
    assert settings["StateDirectory"] == "quotebot" and settings["Restart"] == "on-failure"
    assert settings["LoadCredential"].startswith("telegram-token:")
    assert "TELEGRAM_BOT_TOKEN" not in unit.read_text(encoding="utf-8")


def test_unit_exposure_is_rated_ok(unit: Path) -> None:
    done = subprocess.run([systemd_analyze(), "security", "--offline=true", str(unit)],
                          capture_output=True, text=True, timeout=60)
    rating = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)", done.stdout)
    assert rating, done.stdout[-2000:] + done.stderr
    assert float(rating.group(1)) <= 2.0 and rating.group(2) in ("SAFE", "OK")


def test_example_config_loads_and_points_into_the_state_directory(tmp_path: Path) -> None:
    config = load_config(DEPLOY / "bot.yaml", env={"HOME": str(tmp_path)})
    assert config.history.db_path == Path("/var/lib/quotebot/history.sqlite3")
    assert config.corpus.seeds_dir == Path("/var/lib/quotebot/seeds")
    assert config.corpus.sources_file.exists()   # left out: the bundled one
    assert config.telegram.metrics.enabled and config.telegram.metrics.listen == "127.0.0.1"


def test_webhook_snippet_checks_the_secret_header_and_forwards_to_the_bot() -> None:
    text = (DEPLOY / "nginx-webhook.conf").read_text(encoding="utf-8")
    assert "$http_x_telegram_bot_api_secret_token" in text and "return 403" in text
    assert "proxy_pass http://127.0.0.1:8443" in text
