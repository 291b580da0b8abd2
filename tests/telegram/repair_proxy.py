"""A repairing proxy between the bot and the Bot API emulator, strict where Telegram is strict.

telegram-test-api 4.2.1 speaks almost, but not quite, the Bot API that python-telegram-bot expects:
getMe lacks is_bot, dates are in milliseconds, callback queries lack chat_instance, edits answer
`result: null`, echoed messages carry the request's JSON strings, getUpdates ignores `offset`
(an update counts as read once fetched), and methods it does not know answer HTTP 500. This proxy
mends all that and answers the missing methods itself (profile, command menus, inline answers,
chat members, webhooks), each checked against the Bot API's documented limits.

It is strict where Telegram is: it refuses with Telegram's 400 what Telegram would refuse (bad
HTML, > 4096 characters, callback data > 64 bytes, a topic in a chat that has none, a callback or
inline query answered twice or never delivered...), and it keeps Telegram's group limit (20
messages in any minute) and a 429's retry_after window: a request inside it gets 429 again and
is recorded as a violation. It keeps getUpdates' offset semantics: an update is redelivered until
a later getUpdates confirms it, as after a crash.

For fault tests it injects what Telegram's network really produces: 429 flood waits, connection
refused or reset, 502 Bad Gateway, and requests held unanswered (to kill the bot mid-reply). The
users' side (the emulator's client API) listens on a port of its own, which never fails.
It records every request, holds getUpdates like Telegram's long polling, can inject updates the
emulator cannot produce (inline queries, edited messages), serves documents users send (getFile
and the file download URL), and can deliver updates to a webhook with the secret token header,
as Telegram does.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import math
import random
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import httpx
import tornado.httpserver
import tornado.netutil
import tornado.web

from bot.telegram.rules import RuleViolation, check_inline_results, check_message, check_text

# Parameters the Bot API takes as JSON-serialized objects.
JSON_FIELDS = frozenset({"reply_markup", "link_preview_options", "reply_parameters", "entities",
                         "results", "commands", "scope", "allowed_updates", "button", "menu_button"})
# Methods the emulator implements; everything else the proxy answers itself.
EMULATED = frozenset({"getUpdates", "getMe", "sendMessage", "editMessageText",
                      "editMessageReplyMarkup", "deleteMessage", "answerCallbackQuery",
                      "deleteWebhook"})
# Methods that post a message into a chat: what Telegram's per-chat limits count.
POSTING = frozenset({"sendMessage"})
BOT_USER = {"id": 666, "is_bot": True, "first_name": "Test First name", "username": "TestNameBot",
            "can_join_groups": True, "can_read_all_group_messages": False,
            "supports_inline_queries": True}
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message")
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
# Telegram: "no more than 20 messages per minute" in one group (Bots FAQ).
GROUP_LIMIT, GROUP_PERIOD = 20, 60.0
# A request that reaches the proxy this soon after a 429 was sent was already on its way: Telegram
# answers it 429 too, but the bot could not have known; later ones are violations.
FLOOD_GRACE = 0.25
SCOPES = frozenset({"default", "all_private_chats", "all_group_chats", "all_chat_administrators",
                    "chat", "chat_administrators", "chat_member"})
_LANGUAGE = re.compile(r"^[a-z]{2}$")
_BAD_GATEWAY_PAGE = b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"


@dataclass
class Call:
    """One request the bot made, with the answer it got."""
    method: str
    params: dict
    status: int
    response: dict
    started: float    # time.monotonic() when the request arrived
    finished: float   # ... and when the answer went back

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))


@dataclass
class Flood:
    """A spell of Telegram flood control: a share of calls answered 429 with retry_after."""
    fraction: float
    retry_after: int
    until: float
    methods: frozenset[str]
    rng: random.Random
    ban_since: float = 0.0
    ban_until: float = 0.0


@dataclass
class ProxyState:
    """What the proxy remembers between requests (touched only on the proxy's event loop)."""
    chats: dict[int, dict] = field(default_factory=dict)            # chat id -> chat object seen
    topics: dict[int, set[int]] = field(default_factory=dict)       # chat id -> forum topics seen
    sent: dict[tuple[int, int], dict] = field(default_factory=dict)  # (chat, message id) -> message
    pending: list[dict] = field(default_factory=list)               # updates not confirmed yet
    delivered: list[dict] = field(default_factory=list)             # every update getUpdates returned
    callbacks: dict[str, bool] = field(default_factory=dict)        # callback query id -> answered
    inline_queries: dict[str, bool] = field(default_factory=dict)   # inline query id -> answered
    admins: dict[int, set[int]] = field(default_factory=dict)       # chat id -> admin user ids
    failing: dict[str, list] = field(default_factory=dict)          # method -> [status, times left, text]
    files: dict[str, bytes] = field(default_factory=dict)           # file_id -> content (documents sent)
    accepted: dict[int, deque] = field(default_factory=dict)        # chat id -> times its posts were accepted
    profile: dict[tuple[str, str], object] = field(default_factory=dict)  # (what, language) -> value
    flood: Flood | None = None
    outage: tuple[str, float] | None = None                         # (kind, until) for reset / 502
    held: list[tuple[str, asyncio.Future]] = field(default_factory=list)
    holding: frozenset[str] = frozenset()
    webhook: dict | None = None


class RepairingProxy:
    """Runs in a background thread with its own event loop; start() returns once it listens."""

    def __init__(self, upstream: str, token: str | None = None, seed: int = 7) -> None:
        self.upstream = upstream.rstrip("/")
        self.token = token               # when set, other tokens get Telegram's 401
        self.port = 0                    # the Bot API side (may refuse connections in an outage)
        self.client_port = 0             # the users' side (always up)
        self.state = ProxyState()
        self.violations: list[tuple[str, Call]] = []   # (what, call): requests Telegram would punish
        self._seed = seed
        self._calls: list[Call] = []
        self._arrivals_seen: list[tuple[str, float]] = []   # (method, when it arrived), answered or not
        self._lock = threading.Lock()
        self._update_ids = itertools.count(10_000_000)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._client: httpx.AsyncClient | None = None
        self._bot_server: tornado.httpserver.HTTPServer | None = None
        self._app: tornado.web.Application | None = None
        self._current_token = ""         # the token of the request being answered (setWebhook keeps it)

    # --- life cycle (called from the test thread) ---------------------------------------------
    @property
    def client_url(self) -> str:
        """Where users reach the emulator's client API through this proxy (so polling wakes at once)."""
        return f"http://127.0.0.1:{self.client_port}"

    @property
    def base_url(self) -> str:
        """What the bot takes as --api-base-url (its token is appended after it)."""
        return f"http://127.0.0.1:{self.port}/bot"

    def start(self) -> "RepairingProxy":
        """Start serving in a background thread."""
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True, name="repair-proxy")
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the repairing proxy did not start")
        return self

    def stop(self) -> None:
        """Stop serving and join the thread."""
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(10)

    def _run(self, ready: threading.Event) -> None:
        """The proxy thread: an event loop serving until stop()."""
        self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(self._serve(ready))
        self._loop.close()

    async def _serve(self, ready: threading.Event) -> None:
        """Listen on two free ports (bot side, users' side) until asked to stop."""
        self._stopping = asyncio.Event()
        # Few kept-alive connections: httpcore scans every pooled connection on each request.
        self._client = httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=100, max_keepalive_connections=8))
        self._arrivals = asyncio.Event()
        self._app = tornado.web.Application([(r"/bot([^/]+)/([A-Za-z]+)", _BotApiHandler, {"proxy": self}),
                                             (r"/file/bot([^/]+)/(.+)", _FileHandler, {"proxy": self})],
                                            log_function=lambda handler: None)  # its access log shows tokens
        client_app = tornado.web.Application(
            [(r"/(sendMessage|sendCommand|sendCallback|getUpdates|getUpdatesHistory)", _ClientApiHandler,
              {"proxy": self})], log_function=lambda handler: None)
        self.port = self._listen_bot_side(0)
        client_server = tornado.httpserver.HTTPServer(client_app)
        client_sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        self.client_port = client_sockets[0].getsockname()[1]
        client_server.add_sockets(client_sockets)
        ready.set()
        delivery = asyncio.create_task(self._deliver_to_webhook())
        await self._stopping.wait()
        delivery.cancel()
        if self._bot_server is not None:
            self._bot_server.stop()
        client_server.stop()
        await self._client.aclose()

    def _listen_bot_side(self, port: int) -> int:
        """Serve the Bot API side on port (0: a free one); returns the port."""
        assert self._app is not None
        self._bot_server = tornado.httpserver.HTTPServer(self._app)
        sockets = tornado.netutil.bind_sockets(port, "127.0.0.1")
        self._bot_server.add_sockets(sockets)
        return sockets[0].getsockname()[1]

    def _call_soon(self, fn: Callable[[], object]) -> object:
        """Run fn on the proxy's loop and wait for it (state is only touched there); returns its result."""
        assert self._loop is not None
        done = threading.Event()
        result: list[object] = []

        def run() -> None:
            result.append(fn())
            done.set()
        self._loop.call_soon_threadsafe(run)
        done.wait(5)
        return result[0] if result else None

    # --- controls for tests ---------------------------------------------------------------------
    def inject(self, update: dict) -> int:
        """Queue an update (an inline query, an edited message...) for the bot's next getUpdates; its id."""
        def add() -> int:
            numbered = self._mend_update({**update, "update_id": next(self._update_ids)})
            self.state.pending.append(numbered)
            self._arrivals.set()
            return numbered["update_id"]
        return self._call_soon(add)  # type: ignore[return-value]

    def add_file(self, content: bytes, file_name: str, mime_type: str = "text/plain") -> dict:
        """Store a file as if a user had uploaded it; returns the Document object for a message."""
        file_id = f"DOC{next(self._update_ids)}"
        self._call_soon(lambda: self.state.files.__setitem__(file_id, bytes(content)))
        return {"file_id": file_id, "file_unique_id": f"U{file_id}", "file_name": file_name,
                "mime_type": mime_type, "file_size": len(content)}

    def set_admins(self, chat_id: int, user_ids: set[int]) -> None:
        """Make these users the chat's administrators (everyone else is a plain member)."""
        self._call_soon(lambda: self.state.admins.__setitem__(chat_id, set(user_ids)))

    def fail(self, method: str, status: int = 500, times: int = 10**9, description: str | None = None) -> None:
        """Make the next `times` calls of a method fail with this HTTP status (and description)."""
        text = description or ("Internal Server Error" if status >= 500 else "Bad Request: injected failure")
        self._call_soon(lambda: self.state.failing.__setitem__(method, [status, times, text]))

    def flood(self, fraction: float, retry_after: int, seconds: float,
              methods: tuple[str, ...] = ("sendMessage",)) -> None:
        """For `seconds`, answer a share of these calls 429 "retry after N", and enforce each window."""
        rng = random.Random(self._seed)
        until = time.monotonic() + seconds
        self._call_soon(lambda: setattr(self.state, "flood", Flood(fraction, retry_after, until, frozenset(methods), rng)))

    def outage(self, kind: str, seconds: float) -> None:
        """For `seconds`, the Bot API side fails: 'refused' connections, connections 'reset', or '502'."""
        if kind not in ("refused", "reset", "502"):
            raise ValueError(f"unknown outage kind {kind!r}")
        until = time.monotonic() + seconds
        if kind == "refused":
            self._call_soon(self._refuse_until_later(seconds))
        else:
            self._call_soon(lambda: setattr(self.state, "outage", (kind, until)))

    def outage_over(self) -> None:
        """End a 'reset' or '502' outage now."""
        self._call_soon(lambda: setattr(self.state, "outage", None))

    def _refuse_until_later(self, seconds: float) -> Callable[[], None]:
        def refuse() -> None:
            assert self._bot_server is not None and self._loop is not None
            port = self.port
            self._bot_server.stop()  # no more connections accepted: clients see "connection refused"
            asyncio.ensure_future(self._bot_server.close_all_connections())
            self._loop.call_later(seconds, lambda: self._listen_bot_side(port))
        return refuse

    def hold(self, *methods: str) -> None:
        """Hold calls of these methods unanswered (neither forwarded nor refused) until release()."""
        self._call_soon(lambda: setattr(self.state, "holding", frozenset(methods)))

    def release(self, forward: bool = True) -> int:
        """Stop holding; forward the held calls (or drop them: they never reached Telegram); how many."""
        def let_go() -> int:
            held, self.state.held, self.state.holding = self.state.held, [], frozenset()
            for _, future in held:
                if not future.done():
                    future.set_result(forward)
            return len(held)
        return self._call_soon(let_go)  # type: ignore[return-value]

    def held(self) -> int:
        """How many calls are being held right now."""
        return self._call_soon(lambda: len(self.state.held))  # type: ignore[return-value]

    def delivered_updates(self) -> list[dict]:
        """Every update getUpdates returned (redeliveries included), oldest first."""
        return self._call_soon(lambda: [json.loads(json.dumps(u)) for u in self.state.delivered])  # type: ignore[return-value]

    def profile(self) -> dict[tuple[str, str], object]:
        """What the bot registered: (description | short_description | commands:<scope>, language) -> value."""
        return self._call_soon(lambda: dict(self.state.profile))  # type: ignore[return-value]

    def calls(self, method: str | None = None, chat_id: int | None = None) -> list[Call]:
        """Recorded calls, oldest first, optionally only one method and one chat."""
        with self._lock:
            found = list(self._calls)
        return [c for c in found if (method is None or c.method == method)
                and (chat_id is None or str(c.params.get("chat_id")) == str(chat_id))]

    def wait_for(self, method: str, predicate: Callable[[Call], bool] = lambda c: True,
                 timeout: float = 20.0, after: float = 0.0) -> Call:
        """The first call of method (started after `after`) matching predicate; waits for it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for call in self.calls(method):
                if call.started >= after and predicate(call):
                    return call
            time.sleep(0.02)
        seen = [(c.method, c.status) for c in self.calls() if c.method != "getUpdates"][-10:]
        raise AssertionError(f"no {method} call matched within {timeout:g} s; last calls: {seen}")

    def arrived(self, method: str, since: float = 0.0) -> bool:
        """Whether a call of method has arrived since `since` (answered yet or not: a long poll waits)."""
        with self._lock:
            return any(m == method and t >= since for m, t in self._arrivals_seen)

    def _record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)
        if call.ok and call.method in POSTING:
            self.state.accepted.setdefault(int(call.params["chat_id"]), deque()).append(call.finished)

    # --- handling one request (on the proxy loop) -------------------------------------------------
    def outage_now(self) -> str | None:
        """The kind of outage in force ('reset', '502'), if any."""
        if self.state.outage is None:
            return None
        kind, until = self.state.outage
        if time.monotonic() >= until:
            self.state.outage = None
            return None
        return kind

    async def handle(self, token: str, method: str, params: dict, raw: dict, started: float) -> tuple[int, dict]:
        """Answer one Bot API request as Telegram would, using the emulator where it can."""
        if self.token is not None and token != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        failing = self.state.failing.get(method)
        if failing and failing[1] > 0:
            failing[1] -= 1
            if failing[0] == 429:   # Telegram's flood control says how long to wait
                return _too_many(1)
            return failing[0], {"ok": False, "error_code": failing[0], "description": failing[2]}
        limited = self._flood_control(method, params, started)
        if limited is not None:
            return limited
        if method in self.state.holding:
            future = asyncio.get_running_loop().create_future()
            self.state.held.append((method, future))
            if not await future:
                return 599, {"ok": False, "error_code": 599, "description": "dropped: never reached Telegram"}
        try:
            return await self._dispatch(token, method, params, raw)
        except RuleViolation as exc:
            return 400, {"ok": False, "error_code": 400, "description": str(exc)}

    def _flood_control(self, method: str, params: dict, started: float) -> tuple[int, dict] | None:
        """Telegram's 429s: an injected flood, its retry_after window, and the group limit."""
        flood = self.state.flood
        if flood is not None and method in flood.methods:
            if started < flood.ban_until:
                if started - flood.ban_since > FLOOD_GRACE:
                    self.violations.append(("inside retry_after", Call(method, params, 429, {}, started, started)))
                return _too_many(math.ceil(flood.ban_until - started))
            if started < flood.until and flood.rng.random() < flood.fraction:
                flood.ban_since, flood.ban_until = time.monotonic(), time.monotonic() + flood.retry_after
                return _too_many(flood.retry_after)
        if method in POSTING and str(params.get("chat_id", "0")).lstrip("-").isdigit() and int(params["chat_id"]) < 0:
            times = self.state.accepted.setdefault(int(params["chat_id"]), deque())
            while times and times[0] <= started - GROUP_PERIOD:
                times.popleft()
            if len(times) >= GROUP_LIMIT:
                self.violations.append(("group limit", Call(method, params, 429, {}, started, started)))
                return _too_many(math.ceil(times[0] + GROUP_PERIOD - started))
        return None

    async def _dispatch(self, token: str, method: str, params: dict, raw: dict) -> tuple[int, dict]:
        local = getattr(self, f"_local_{method}", None)
        if local is not None:
            return 200, {"ok": True, "result": local(params)}
        if method not in EMULATED:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        check = getattr(self, f"_check_{method}", None)
        if check is not None:
            check(params)
        if method == "getUpdates":
            return 200, {"ok": True, "result": await self._get_updates(token, params)}
        status, body = await self._forward(token, method, raw)
        if status != 200 or not body.get("ok"):
            return status, body
        mend = getattr(self, f"_mend_{method}", None)
        return 200, {"ok": True, "result": mend(body.get("result"), params) if mend else body.get("result")}

    async def _forward(self, token: str, method: str, raw: dict) -> tuple[int, dict]:
        """Send the request on to the emulator as it came (form fields)."""
        assert self._client is not None
        try:
            response = await self._client.post(f"{self.upstream}/bot{token}/{method}", data=raw)
            return response.status_code, response.json()
        except (httpx.HTTPError, RuntimeError, ValueError):  # RuntimeError: closing down
            return 502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}

    async def _get_updates(self, token: str, params: dict) -> list[dict]:
        """Long polling with Telegram's offset: updates stay until a later offset confirms them.

        Users' messages pass through this proxy (see client_url), which wakes the wait at once;
        a slow poll of the emulator still catches anything posted to it directly.
        """
        offset = int(params.get("offset") or 0)
        if offset > 0:
            self.state.pending = [u for u in self.state.pending if u["update_id"] >= offset]
        limit = int(params.get("limit") or 100)
        timeout = min(float(params.get("timeout") or 0), 5.0)
        deadline = time.monotonic() + timeout
        while True:
            self._arrivals.clear()
            status, body = await self._forward(token, "getUpdates", {})
            for update in (body.get("result") or []) if status == 200 else []:
                self.state.pending.append(self._mend_update({**update, "update_id": next(self._update_ids)}))
            remaining = deadline - time.monotonic()
            if self.state.pending or remaining <= 0 or self.state.webhook:
                batch = self.state.pending[:limit]
                self.state.delivered.extend(batch)
                for update in batch:
                    self._note_queries(update)
                return batch
            try:
                await asyncio.wait_for(self._arrivals.wait(), timeout=min(remaining, 0.25))
            except asyncio.TimeoutError:
                pass

    def _note_queries(self, update: dict) -> None:
        """Remember delivered callback and inline queries: each may be answered once."""
        if "callback_query" in update:
            self.state.callbacks.setdefault(str(update["callback_query"]["id"]), False)
        if "inline_query" in update:
            self.state.inline_queries.setdefault(str(update["inline_query"]["id"]), False)

    async def relay_client(self, route: str, body: bytes) -> tuple[int, bytes]:
        """Pass a user's action on to the emulator's client API, then wake a waiting getUpdates."""
        assert self._client is not None
        response = await self._client.post(f"{self.upstream}/{route}", content=body,
                                           headers={"Content-Type": "application/json"})
        self._arrivals.set()
        return response.status_code, response.content

    async def _deliver_to_webhook(self) -> None:
        """While a webhook is set, fetch updates from the emulator and POST them with the secret."""
        while True:
            hook = self.state.webhook
            if hook is None:
                await asyncio.sleep(0.05)
                continue
            updates = await self._get_updates(hook["token"], {})
            for update in updates:
                if not await self._post_update(hook, update):
                    break  # Telegram tries again later, in order
                self.state.pending = [u for u in self.state.pending if u["update_id"] != update["update_id"]]
            if not updates:
                await asyncio.sleep(0.01)

    async def _post_update(self, hook: dict, update: dict) -> bool:
        assert self._client is not None
        headers = {"X-Telegram-Bot-Api-Secret-Token": hook["secret_token"]} if hook.get("secret_token") else {}
        started = time.monotonic()
        try:
            response = await self._client.post(hook["url"], json=update, headers=headers)
            status = response.status_code
        except httpx.HTTPError:
            status = 599
        self._record(Call("webhookDelivery", {"update_id": update["update_id"]}, status, {"ok": status == 200},
                          started, time.monotonic()))
        if status != 200:
            await asyncio.sleep(0.1)
        return status == 200

    # --- mending the emulator's answers ---------------------------------------------------------
    def _mend_update(self, update: dict) -> dict:
        for value in update.values():
            if isinstance(value, dict):
                value.pop("botToken", None)  # the emulator keeps the client's token in what it stores
        for key in ("message", "edited_message"):
            if key in update:
                self._mend_incoming(update[key])
        query = update.get("callback_query")
        if query is not None:
            query.setdefault("chat_instance", str(abs(hash(("instance", self._chat_of(query))))))
            if "message" in query:
                self._mend_incoming(query["message"])
                self._attach_sent_message(query)
        return update

    def _chat_of(self, query: dict) -> int:
        return int(((query.get("message") or {}).get("chat") or {}).get("id", 0))

    def _attach_sent_message(self, query: dict) -> None:
        """Give the pressed message its real content (the one the bot sent), as Telegram does."""
        message = query["message"]
        sent = self.state.sent.get((int(message["chat"]["id"]), int(message["message_id"])))
        if sent is not None:
            query["message"] = {**sent, "chat": message["chat"]}

    def _mend_incoming(self, message: dict) -> None:
        for key in ("date", "edit_date"):
            if message.get(key, 0) > 10**11:
                message[key] //= 1000
        if "chat" in message:
            chat_id = int(message["chat"]["id"])
            self.state.chats[chat_id] = message["chat"]
            if message.get("is_topic_message") and message.get("message_thread_id"):
                self.state.topics.setdefault(chat_id, set()).add(int(message["message_thread_id"]))
        if "reply_to_message" in message:
            self._mend_incoming(message["reply_to_message"])

    def _mend_getMe(self, result: dict, params: dict) -> dict:
        return {**BOT_USER, **(result or {}), "is_bot": True}

    def _mend_sendMessage(self, result: dict, params: dict) -> dict:
        chat_id = int(params["chat_id"])
        chat = self.state.chats.get(chat_id) or {"id": chat_id, "type": "private" if chat_id > 0 else "group"}
        date = int(result.get("date", time.time() * 1000))
        message = {"message_id": int(result["message_id"]), "date": date // 1000 if date > 10**11 else date,
                   "chat": chat, "from": {k: BOT_USER[k] for k in ("id", "is_bot", "first_name", "username")},
                   "text": check_text(params["text"], params.get("parse_mode"))}
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        if params.get("message_thread_id"):
            message.update(message_thread_id=int(params["message_thread_id"]), is_topic_message=True)
        self.state.sent[(chat_id, message["message_id"])] = message
        return message

    def _mend_editMessageText(self, result: object, params: dict) -> dict | bool:
        if "inline_message_id" in params:
            return True
        key = (int(params["chat_id"]), int(params["message_id"]))
        message = dict(self.state.sent[key], text=check_text(params["text"], params.get("parse_mode")),
                       edit_date=int(time.time()))
        message.pop("reply_markup", None)
        if isinstance(params.get("reply_markup"), dict):
            message["reply_markup"] = params["reply_markup"]
        self.state.sent[key] = message
        return message

    def _mend_editMessageReplyMarkup(self, result: object, params: dict) -> dict | bool:
        if "inline_message_id" in params:
            return True
        key = (int(params["chat_id"]), int(params["message_id"]))
        message = dict(self.state.sent[key], edit_date=int(time.time()))
        message.pop("reply_markup", None)
        if isinstance(params.get("reply_markup"), dict) and params["reply_markup"].get("inline_keyboard"):
            message["reply_markup"] = params["reply_markup"]
        self.state.sent[key] = message
        return message

    def _mend_answerCallbackQuery(self, result: object, params: dict) -> bool:
        self.state.callbacks[str(params["callback_query_id"])] = True
        return True

    def _mend_deleteMessage(self, result: object, params: dict) -> bool:
        self.state.sent.pop((int(params["chat_id"]), int(params["message_id"])), None)
        return True

    # --- Telegram's strictness ------------------------------------------------------------------
    def _check_sendMessage(self, params: dict) -> None:
        if "chat_id" not in params:
            raise RuleViolation("Bad Request: chat_id is empty")
        check_message(params.get("text", ""), params.get("parse_mode"), params.get("reply_markup"))
        if params.get("parse_mode") not in (None, "HTML", "MarkdownV2", "Markdown"):
            raise RuleViolation(f"Bad Request: unsupported parse_mode \"{params['parse_mode']}\"")
        thread = params.get("message_thread_id")
        if thread is not None:
            chat_id = int(params["chat_id"])
            if not self.state.chats.get(chat_id, {}).get("is_forum") or int(thread) not in self.state.topics.get(chat_id, set()):
                raise RuleViolation("Bad Request: message thread not found")

    def _check_editMessageText(self, params: dict) -> None:
        check_message(params.get("text", ""), params.get("parse_mode"), params.get("reply_markup"))
        key = self._edited_key(params)
        if key is not None:
            old = self.state.sent[key]
            new_text = check_text(params["text"], params.get("parse_mode"))
            if old.get("text") == new_text and old.get("reply_markup") == params.get("reply_markup"):
                raise RuleViolation(NOT_MODIFIED)

    def _check_editMessageReplyMarkup(self, params: dict) -> None:
        check_message("x", None, params.get("reply_markup"))
        key = self._edited_key(params)
        markup = params.get("reply_markup") or None
        if key is not None and self.state.sent[key].get("reply_markup") == markup:
            raise RuleViolation(NOT_MODIFIED)

    def _check_deleteMessage(self, params: dict) -> None:
        if (int(params.get("chat_id", 0)), int(params.get("message_id", 0))) not in self.state.sent:
            raise RuleViolation("Bad Request: message to delete not found")

    def _edited_key(self, params: dict) -> tuple[int, int] | None:
        """The (chat, message) an edit targets; Telegram's 400 when the bot never sent it."""
        if "inline_message_id" in params:
            return None
        key = (int(params.get("chat_id", 0)), int(params.get("message_id", 0)))
        if key not in self.state.sent:
            raise RuleViolation("Bad Request: message to edit not found")
        return key

    def _check_answerCallbackQuery(self, params: dict) -> None:
        if len(params.get("text", "")) > 200:
            raise RuleViolation("Bad Request: MESSAGE_TOO_LONG")
        if self.state.callbacks.get(str(params.get("callback_query_id")), True):  # unknown, or answered
            raise RuleViolation(QUERY_INVALID)

    # --- methods the emulator lacks, answered here ------------------------------------------------
    def _local_setMyCommands(self, params: dict) -> bool:
        for command in params.get("commands") or []:
            name, description = command.get("command", ""), command.get("description", "")
            if not (1 <= len(name) <= 32 and name.replace("_", "").isalnum() and name == name.lower()
                    and name.isascii()):
                raise RuleViolation("Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise RuleViolation("Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        if len(params.get("commands") or []) > 100:
            raise RuleViolation("Bad Request: BOT_COMMANDS_TOO_MUCH")
        scope = (params.get("scope") or {"type": "default"}).get("type")
        if scope not in SCOPES:
            raise RuleViolation("Bad Request: BOT_COMMAND_SCOPE_INVALID")
        language = _language(params)
        self.state.profile[(f"commands:{scope}", language)] = [c["command"] for c in params.get("commands") or []]
        return True

    def _local_setMyDescription(self, params: dict) -> bool:
        # Bot API: "New bot description; 0-512 characters".
        return self._set_profile_text("description", params, 512)

    def _local_setMyShortDescription(self, params: dict) -> bool:
        # Bot API: "New short description for the bot; 0-120 characters".
        return self._set_profile_text("short_description", params, 120)

    def _set_profile_text(self, what: str, params: dict, limit: int) -> bool:
        text = params.get(what, "")
        if len(text) > limit:
            raise RuleViolation(f"Bad Request: {what.upper()}_INVALID")
        self.state.profile[(what, _language(params))] = text
        return True

    def _local_deleteMyCommands(self, params: dict) -> bool:
        return True

    def _local_getMyCommands(self, params: dict) -> list:
        return []

    def _local_sendChatAction(self, params: dict) -> bool:
        return True

    def _local_setChatMenuButton(self, params: dict) -> bool:
        return True

    def _local_answerInlineQuery(self, params: dict) -> bool:
        query_id = str(params.get("inline_query_id"))
        if self.state.inline_queries.get(query_id, True):  # unknown, or answered
            raise RuleViolation(QUERY_INVALID)
        if len(str(params.get("next_offset", "")).encode("utf-8")) > 64:
            raise RuleViolation("Bad Request: NEXT_OFFSET_INVALID")
        check_inline_results(params.get("results") or [])
        self.state.inline_queries[query_id] = True
        return True

    def _local_getChatMember(self, params: dict) -> dict:
        chat_id, user_id = int(params["chat_id"]), int(params["user_id"])
        user = {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"}
        if user_id in self.state.admins.get(chat_id, set()):
            return _administrator(user)
        return {"status": "member", "user": user}

    def _local_getChatAdministrators(self, params: dict) -> list[dict]:
        chat_id = int(params["chat_id"])
        return [_administrator({"id": uid, "is_bot": False, "first_name": f"user{uid}"})
                for uid in sorted(self.state.admins.get(chat_id, set()))]

    def _local_getFile(self, params: dict) -> dict:
        file_id = str(params.get("file_id", ""))
        if file_id not in self.state.files:
            raise RuleViolation("Bad Request: invalid file_id")
        return {"file_id": file_id, "file_unique_id": f"U{file_id}",
                "file_size": len(self.state.files[file_id]), "file_path": f"documents/{file_id}"}

    def _local_setWebhook(self, params: dict) -> bool:
        token = self._current_token
        self.state.webhook = {"url": params["url"], "secret_token": params.get("secret_token"), "token": token}
        return True

    def _local_deleteWebhook(self, params: dict) -> bool:
        self.state.webhook = None
        return True

    def _local_getWebhookInfo(self, params: dict) -> dict:
        hook = self.state.webhook or {}
        return {"url": hook.get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self.state.pending)}

    def _local_close(self, params: dict) -> bool:
        return True

    def _local_logOut(self, params: dict) -> bool:
        return True


def _too_many(retry_after: int) -> tuple[int, dict]:
    """Telegram's flood-control answer."""
    retry_after = max(1, retry_after)
    return 429, {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {retry_after}",
                 "parameters": {"retry_after": retry_after}}


def _language(params: dict) -> str:
    """A profile call's language_code: '' or two lower-case letters (ISO 639-1), else Telegram's 400."""
    language = params.get("language_code") or ""
    if language and not _LANGUAGE.match(language):
        raise RuleViolation("Bad Request: LANGUAGE_CODE_INVALID")
    return language


def _administrator(user: dict) -> dict:
    """A ChatMemberAdministrator object with every right set."""
    rights = ("can_manage_chat", "can_delete_messages", "can_manage_video_chats", "can_restrict_members",
              "can_promote_members", "can_change_info", "can_invite_users", "can_post_stories",
              "can_edit_stories", "can_delete_stories")
    return {"status": "administrator", "user": user, "can_be_edited": False, "is_anonymous": False,
            **{right: True for right in rights}}


def decode_params(raw: dict[str, str]) -> dict:
    """Bot API parameters as values: JSON-serialized fields parsed (the emulator echoes them as strings)."""
    params: dict = {}
    for key, value in raw.items():
        if key in JSON_FIELDS and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                pass
        params[key] = value
    return params


class _BotApiHandler(tornado.web.RequestHandler):
    """/bot<token>/<method>: parse the request, let the proxy answer, record the exchange."""

    def initialize(self, proxy: RepairingProxy) -> None:
        self.proxy = proxy

    async def post(self, token: str, method: str) -> None:
        started = time.monotonic()
        with self.proxy._lock:
            self.proxy._arrivals_seen.append((method, started))
        raw = self._raw_params()
        params = decode_params(raw)
        outage = self.proxy.outage_now()
        if outage == "reset":
            self._reset_connection()
            self.proxy._record(Call(method, params, 0, {"ok": False, "description": "connection reset"},
                                    started, time.monotonic()))
            return
        if outage == "502":
            self.set_status(502)
            self.set_header("Content-Type", "text/html")
            self.finish(_BAD_GATEWAY_PAGE)
            self.proxy._record(Call(method, params, 502, {"ok": False, "description": "Bad Gateway"},
                                    started, time.monotonic()))
            return
        self.proxy._current_token = token
        status, body = await self.proxy.handle(token, method, params, raw, started)
        if status == 599:  # held, then dropped: this request never reached Telegram
            self._reset_connection()
        else:
            self.set_status(status)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(body, ensure_ascii=False))
        self.proxy._record(Call(method, params, status, body, started, time.monotonic()))

    get = post

    def _reset_connection(self) -> None:
        """Close the client's connection with a TCP reset, as a broken network does."""
        stream = self.request.connection.stream
        try:
            stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except (OSError, AttributeError):
            pass
        stream.close()

    def _raw_params(self) -> dict[str, str]:
        raw = {k: v[-1].decode("utf-8") for k, v in self.request.query_arguments.items()}
        content_type = self.request.headers.get("Content-Type", "")
        if content_type.startswith("application/json") and self.request.body:
            for key, value in json.loads(self.request.body).items():
                raw[key] = value if isinstance(value, str) else json.dumps(value)
        elif content_type.startswith("application/x-www-form-urlencoded"):
            raw.update(parse_qsl(self.request.body.decode("utf-8"), keep_blank_values=True))
        else:
            raw.update({k: v[-1].decode("utf-8") for k, v in self.request.body_arguments.items()})
        return raw

    def log_exception(self, typ, value, tb) -> None:  # noqa: ANN001 - tornado's signature
        # tornado's own report starts with the request URI, which carries the token.
        logging.getLogger("repair_proxy").error("%s failed: %s", self.request.method, typ.__name__,
                                                exc_info=(typ, value, tb))


class _FileHandler(tornado.web.RequestHandler):
    """/file/bot<token>/<file_path>: a stored document's bytes, as Telegram's file server gives them."""

    def initialize(self, proxy: RepairingProxy) -> None:
        self.proxy = proxy

    def get(self, token: str, file_path: str) -> None:
        started = time.monotonic()
        content = self.proxy.state.files.get(file_path.rsplit("/", 1)[-1])
        if self.proxy.token is not None and token != self.proxy.token:
            self.set_status(401)
        elif content is None:
            self.set_status(404)
        else:
            self.set_header("Content-Type", "application/octet-stream")
            self.write(content)
        self.proxy._record(Call("fileDownload", {"file_path": file_path}, self.get_status(), {"ok": content is not None},
                                started, time.monotonic()))


class _ClientApiHandler(tornado.web.RequestHandler):
    """The emulator's client API (users' side), relayed unchanged."""

    def initialize(self, proxy: RepairingProxy) -> None:
        self.proxy = proxy

    async def post(self, route: str) -> None:
        status, body = await self.proxy.relay_client(route, self.request.body)
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(body)
