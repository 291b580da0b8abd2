"""The Bot API emulator (npm telegram-test-api) for the tests: install, start, stop, and act as users.

The emulator runs as a Node subprocess on a free port. Users talk to it through its client API
(POST /sendMessage, /sendCallback, /getUpdates, /getUpdatesHistory); the bot talks to it through
the repairing proxy (repair_proxy.py), never directly.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

EMULATOR_PACKAGE = "telegram-test-api"
EMULATOR_VERSION = "4.2.1"
LAUNCHER = Path(__file__).resolve().parent / "launch_emulator.js"
READY_PREFIX = "EMULATOR READY"


class HarnessError(RuntimeError):
    """The emulator could not be installed or started; the message says what to do."""


def cache_dir() -> Path:
    """Where the emulator's npm package is installed: outside the repository, reused between runs."""
    root = os.environ.get("QUOTEBOT_TEST_CACHE") or Path.home() / ".cache" / "quotebot-test"
    return Path(root) / "npm"


def require_node() -> tuple[str, str]:
    """The paths of node and npm, or HarnessError saying they are needed."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        raise HarnessError("The Telegram end-to-end tests need Node.js and npm on PATH (node >= 18) "
                           "to run the Bot API emulator; install them, e.g. `apt-get install nodejs npm`.")
    return node, npm


def install_emulator(prefix: Path | None = None) -> Path:
    """Install the pinned emulator into the cache folder unless present; returns its package folder."""
    _, npm = require_node()
    prefix = prefix or cache_dir()
    package = prefix / "node_modules" / EMULATOR_PACKAGE
    manifest = package / "package.json"
    if manifest.exists() and json.loads(manifest.read_text())["version"] == EMULATOR_VERSION:
        return package
    prefix.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
                           "--no-save", f"{EMULATOR_PACKAGE}@{EMULATOR_VERSION}"],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0 or not manifest.exists():
        raise HarnessError(f"npm could not install {EMULATOR_PACKAGE}@{EMULATOR_VERSION} into {prefix}: "
                           f"{done.stderr.strip()[-500:]}")
    return package


def free_port() -> int:
    """A TCP port nobody listens on right now (the emulator turns port 0 into 9000)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Emulator:
    """A running telegram-test-api server; stop() ends it."""

    def __init__(self, package: Path, port: int | None = None) -> None:
        self.package = package
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.output: list[str] = []

    def start(self, timeout: float = 30.0) -> "Emulator":
        """Start node with the launcher and wait for its ready line."""
        node, _ = require_node()
        self.process = subprocess.Popen([node, str(LAUNCHER), str(self.package), str(self.port)],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        ready = threading.Event()
        threading.Thread(target=self._read_output, args=(ready,), daemon=True).start()
        if not ready.wait(timeout) or self.process.poll() is not None:
            self.stop()
            raise HarnessError(f"the emulator did not start on port {self.port}: {''.join(self.output)[-800:]}")
        return self

    def _read_output(self, ready: threading.Event) -> None:
        """Collect the emulator's output (for failure messages) and spot the ready line."""
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            if line.startswith(READY_PREFIX):
                ready.set()
        ready.set()  # the process ended: let start() see it rather than wait out the timeout

    def alive(self) -> bool:
        """Whether the node process still runs."""
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """Stop the node process (SIGTERM, then SIGKILL after 5 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


_clients = threading.local()


def _client() -> httpx.Client:
    """This thread's HTTP client (reused: a new one per request costs tens of milliseconds)."""
    if not hasattr(_clients, "client"):
        _clients.client = httpx.Client()
    return _clients.client


_BOT_COMMAND = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
_MENTION = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{5,32}")
_user_ids = itertools.count(1001)


def telegram_entities(text: str) -> list[dict]:
    """The bot_command and mention entities Telegram would attach to this text (UTF-16 offsets)."""
    entities = []
    for kind, pattern in (("bot_command", _BOT_COMMAND), ("mention", _MENTION)):
        for match in pattern.finditer(text):
            if kind == "mention" and match.start() > 0 and text[match.start() - 1] == "/":
                continue
            if kind == "mention" and _inside_command(text, match.start()):
                continue
            offset = len(text[:match.start()].encode("utf-16-le")) // 2
            length = len(match.group().encode("utf-16-le")) // 2
            entities.append({"type": kind, "offset": offset, "length": length})
    return sorted(entities, key=lambda e: e["offset"])


def _inside_command(text: str, at: int) -> bool:
    """Whether the @ at position `at` belongs to a /command@bot token."""
    start = text.rfind(" ", 0, at) + 1
    return text[start:at].startswith("/")


@dataclass
class User:
    """A Telegram user in one chat, driving the emulator's client API as a person would."""
    emulator_url: str
    token: str
    chat_id: int
    chat_type: str = "private"
    user_id: int = field(default_factory=lambda: next(_user_ids))
    first_name: str = "Tester"
    language_code: str | None = "zh-hans"
    chat_title: str = "测试群"
    is_forum: bool = False            # a supergroup with topics

    def sender(self) -> dict:
        """This user as Telegram's `from` object."""
        user = {"id": self.user_id, "is_bot": False, "first_name": self.first_name,
                "username": f"user{self.user_id}"}
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def chat(self) -> dict:
        """The chat as Telegram's `chat` object."""
        if self.chat_type == "private":
            return {"id": self.chat_id, "type": "private", "first_name": self.first_name}
        chat = {"id": self.chat_id, "type": self.chat_type, "title": self.chat_title}
        return {**chat, "is_forum": True} if self.is_forum else chat

    def message(self, text: str, reply_to: dict | None = None, entities: list[dict] | None = None) -> dict:
        """A message from this user as Telegram would deliver it (dates in seconds, entities set)."""
        message = {"from": self.sender(), "chat": self.chat(), "date": int(time.time()), "text": text}
        found = telegram_entities(text) if entities is None else entities
        if found:
            message["entities"] = found
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        return message

    def send(self, text: str, reply_to: dict | None = None, entities: list[dict] | None = None) -> None:
        """Send a text message to the bot in this chat."""
        self.post("sendMessage", {**self.message(text, reply_to, entities), "botToken": self.token})

    def send_raw(self, message: dict) -> None:
        """Send a message object as given (stickers, photos...), adding sender, chat and date."""
        full = {"from": self.sender(), "chat": self.chat(), "date": int(time.time()), **message}
        self.post("sendMessage", {**full, "botToken": self.token})

    def press(self, bot_message: dict, data: str) -> None:
        """Press the inline button carrying callback `data` under one of the bot's messages."""
        shown = {"message_id": bot_message["message_id"], "date": int(time.time()),
                 "chat": self.chat(), "text": bot_message.get("text", "")}
        self.post("sendCallback", {"from": self.sender(), "message": shown, "data": data,
                                   "botToken": self.token, "date": int(time.time())})

    def post(self, route: str, body: dict) -> dict:
        """POST to the emulator's client API."""
        response = _client().post(f"{self.emulator_url}/{route}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def unread_replies(self) -> list[dict]:
        """Bot messages in this chat not fetched before, oldest first, as stored by the emulator."""
        items = self.post("getUpdates", {"token": self.token, "chatId": self.chat_id})["result"]
        return [dict(item["message"], message_id=item["messageId"]) for item in items]

    def wait_replies(self, count: int = 1, timeout: float = 20.0) -> list[dict]:
        """Wait until the bot has sent `count` new messages to this chat; returns them."""
        found: list[dict] = []
        deadline = time.monotonic() + timeout
        while len(found) < count and time.monotonic() < deadline:
            found += self.unread_replies()
            if len(found) < count:
                time.sleep(0.02)
        if len(found) < count:
            raise AssertionError(f"expected {count} bot message(s) in chat {self.chat_id} within "
                                 f"{timeout:g} s, got {len(found)}: {found!r}")
        return found

    def no_reply(self, wait: float = 1.5) -> list[dict]:
        """Whatever the bot sent to this chat within `wait` seconds (a test expects [])."""
        time.sleep(wait)
        return self.unread_replies()

    def transcript(self) -> list[dict]:
        """Every bot message in this chat with its current (possibly edited) content."""
        items = self.post("getUpdatesHistory", {"token": self.token})["result"]
        return [dict(item["message"], message_id=item["messageId"]) for item in items
                if "chat_id" in item.get("message", {}) and str(item["message"]["chat_id"]) == str(self.chat_id)]
