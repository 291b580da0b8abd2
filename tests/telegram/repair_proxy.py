"""A repairing proxy between the bot and the Bot API emulator, strict where Telegram is strict.

telegram-test-api 4.2.1 speaks almost, but not quite, the Bot API that python-telegram-bot expects:
getMe lacks is_bot, dates are in milliseconds, callback queries lack chat_instance, edits answer
`result: null`, echoed messages carry the request's JSON strings, and methods it does not know
answer HTTP 500. This proxy mends all that, answers the missing methods itself, refuses what
Telegram would refuse (bad HTML, > 4096 characters, callback data > 64 bytes) with Telegram's
400 error, records every request, holds getUpdates like Telegram's long polling, can inject
updates the emulator cannot produce (inline queries, stickers), serves documents users send
(getFile and the file download URL), and can deliver updates to a webhook with the secret token
header, as Telegram does.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
import time
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
BOT_USER = {"id": 666, "is_bot": True, "first_name": "Test First name", "username": "TestNameBot",
            "can_join_groups": True, "can_read_all_group_messages": False,
            "supports_inline_queries": True}
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message")


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
class ProxyState:
    """What the proxy remembers between requests (touched only on the proxy's event loop)."""
    chats: dict[int, dict] = field(default_factory=dict)            # chat id -> chat object seen
    sent: dict[tuple[int, int], dict] = field(default_factory=dict)  # (chat, message id) -> message
    injected: list[dict] = field(default_factory=list)
    admins: dict[int, set[int]] = field(default_factory=dict)       # chat id -> admin user ids
    failing: dict[str, list[int]] = field(default_factory=dict)     # method -> [HTTP status, times left]
    files: dict[str, bytes] = field(default_factory=dict)           # file_id -> content (documents sent)
    webhook: dict | None = None


class RepairingProxy:
    """Runs in a background thread with its own event loop; start() returns once it listens."""

    def __init__(self, upstream: str, token: str | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        self.token = token               # when set, other tokens get Telegram's 401
        self.port = 0
        self.state = ProxyState()
        self._calls: list[Call] = []
        self._lock = threading.Lock()
        self._update_ids = itertools.count(10_000_000)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._client: httpx.AsyncClient | None = None
        self._current_token = ""         # the token of the request being answered (setWebhook keeps it)

    # --- life cycle (called from the test thread) ---------------------------------------------
    @property
    def client_url(self) -> str:
        """Where users reach the emulator's client API through this proxy (so polling wakes at once)."""
        return f"http://127.0.0.1:{self.port}"

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
        """Listen on a free port until asked to stop."""
        self._stopping = asyncio.Event()
        # Few kept-alive connections: httpcore scans every pooled connection on each request.
        self._client = httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=100, max_keepalive_connections=8))
        self._arrivals = asyncio.Event()
        app = tornado.web.Application([(r"/bot([^/]+)/([A-Za-z]+)", _BotApiHandler, {"proxy": self}),
                                       (r"/file/bot([^/]+)/(.+)", _FileHandler, {"proxy": self}),
                                       (r"/(sendMessage|sendCommand|sendCallback|getUpdates|getUpdatesHistory)",
                                        _ClientApiHandler, {"proxy": self})],
                                      log_function=lambda handler: None)  # its access log shows tokens
        server = tornado.httpserver.HTTPServer(app)
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        server.add_sockets(sockets)
        ready.set()
        delivery = asyncio.create_task(self._deliver_to_webhook())
        await self._stopping.wait()
        delivery.cancel()
        server.stop()
        await self._client.aclose()

    def _call_soon(self, fn: Callable[[], None]) -> None:
        """Run fn on the proxy's loop and wait for it (state is only touched there)."""
        assert self._loop is not None
        done = threading.Event()

        def run() -> None:
            fn()
            done.set()
        self._loop.call_soon_threadsafe(run)
        done.wait(5)

    # --- controls for tests ---------------------------------------------------------------------
    def inject(self, update: dict) -> int:
        """Queue an update (e.g. an inline query) for the bot's next getUpdates; returns its id."""
        update_id = next(self._update_ids)

        def add() -> None:
            self.state.injected.append({**update, "update_id": update_id})
            self._arrivals.set()
        self._call_soon(add)
        return update_id

    def add_file(self, content: bytes, file_name: str, mime_type: str = "text/plain") -> dict:
        """Store a file as if a user had uploaded it; returns the Document object for a message."""
        file_id = f"DOC{next(self._update_ids)}"
        self._call_soon(lambda: self.state.files.__setitem__(file_id, bytes(content)))
        return {"file_id": file_id, "file_unique_id": f"U{file_id}", "file_name": file_name,
                "mime_type": mime_type, "file_size": len(content)}

    def set_admins(self, chat_id: int, user_ids: set[int]) -> None:
        """Make these users the chat's administrators (everyone else is a plain member)."""
        self._call_soon(lambda: self.state.admins.__setitem__(chat_id, set(user_ids)))

    def fail(self, method: str, status: int = 500, times: int = 10**9) -> None:
        """Make the next `times` calls of a method fail with this HTTP status."""
        self._call_soon(lambda: self.state.failing.__setitem__(method, [status, times]))

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

    def _record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)

    # --- handling one request (on the proxy loop) -------------------------------------------------
    async def handle(self, token: str, method: str, params: dict, raw: dict) -> tuple[int, dict]:
        """Answer one Bot API request as Telegram would, using the emulator where it can."""
        if self.token is not None and token != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        failing = self.state.failing.get(method)
        if failing and failing[1] > 0:
            failing[1] -= 1
            if failing[0] == 429:   # Telegram's flood control says how long to wait
                return 429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                             "parameters": {"retry_after": 1}}
            return failing[0], {"ok": False, "error_code": failing[0], "description": "Internal Server Error"}
        try:
            return await self._dispatch(token, method, params, raw)
        except RuleViolation as exc:
            return 400, {"ok": False, "error_code": 400, "description": str(exc)}

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
        """Long polling: wait up to `timeout` seconds for updates, like Telegram (the emulator won't).

        Users' messages pass through this proxy (see client_url), which wakes the wait at once;
        a slow poll of the emulator still catches anything posted to it directly.
        """
        timeout = min(float(params.get("timeout") or 0), 5.0)
        deadline = time.monotonic() + timeout
        while True:
            self._arrivals.clear()
            status, body = await self._forward(token, "getUpdates", {})
            updates = body.get("result") or [] if status == 200 else []
            updates = [self._mend_update(u) for u in updates] + self._take_injected()
            remaining = deadline - time.monotonic()
            if updates or remaining <= 0 or self.state.webhook:
                return updates
            try:
                await asyncio.wait_for(self._arrivals.wait(), timeout=min(remaining, 0.25))
            except asyncio.TimeoutError:
                pass

    async def relay_client(self, route: str, body: bytes) -> tuple[int, bytes]:
        """Pass a user's action on to the emulator's client API, then wake a waiting getUpdates."""
        assert self._client is not None
        response = await self._client.post(f"{self.upstream}/{route}", content=body,
                                           headers={"Content-Type": "application/json"})
        self._arrivals.set()
        return response.status_code, response.content

    def _take_injected(self) -> list[dict]:
        taken, self.state.injected = self.state.injected, []
        for update in taken:
            self._mend_update(update)
        return taken

    async def _deliver_to_webhook(self) -> None:
        """While a webhook is set, fetch updates from the emulator and POST them with the secret."""
        while True:
            hook = self.state.webhook
            if hook is None:
                await asyncio.sleep(0.05)
                continue
            updates = await self._get_updates(hook["token"], {})
            for update in updates:
                await self._post_update(hook, update)
            if not updates:
                await asyncio.sleep(0.01)

    async def _post_update(self, hook: dict, update: dict) -> None:
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
        if message.get("date", 0) > 10**11:
            message["date"] //= 1000
        if "chat" in message:
            self.state.chats[int(message["chat"]["id"])] = message["chat"]
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
        return True

    def _mend_deleteMessage(self, result: object, params: dict) -> bool:
        return True

    # --- Telegram's strictness ------------------------------------------------------------------
    def _check_sendMessage(self, params: dict) -> None:
        if "chat_id" not in params:
            raise RuleViolation("Bad Request: chat_id is empty")
        check_message(params.get("text", ""), params.get("parse_mode"), params.get("reply_markup"))
        if params.get("parse_mode") not in (None, "HTML", "MarkdownV2", "Markdown"):
            raise RuleViolation(f"Bad Request: unsupported parse_mode \"{params['parse_mode']}\"")

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

    # --- methods the emulator lacks, answered here ------------------------------------------------
    def _local_setMyCommands(self, params: dict) -> bool:
        for command in params.get("commands") or []:
            name, description = command.get("command", ""), command.get("description", "")
            if not (1 <= len(name) <= 32 and name.replace("_", "").isalnum() and name == name.lower()
                    and name.isascii()):
                raise RuleViolation("Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise RuleViolation("Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
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
        check_inline_results(params.get("results") or [])
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
        return {"url": hook.get("url", ""), "has_custom_certificate": False, "pending_update_count": 0}

    def _local_close(self, params: dict) -> bool:
        return True

    def _local_logOut(self, params: dict) -> bool:
        return True


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
        raw = self._raw_params()
        params = decode_params(raw)
        self.proxy._current_token = token
        status, body = await self.proxy.handle(token, method, params, raw)
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body, ensure_ascii=False))
        self.proxy._record(Call(method, params, status, body, started, time.monotonic()))

    get = post

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
