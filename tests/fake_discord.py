"""A fake Discord on loopback: REST routes and a gateway websocket (aiohttp), recording every request.

The real bot runs against it unchanged (discord.py's own HTTP and gateway code, pointed here by
GRADCHECK_DISCORD_API_BASE / GRADCHECK_DISCORD_GATEWAY). Tests play the users: they inject
INTERACTION_CREATE and MESSAGE_CREATE events (`slash`, `press`, `submit`, `autocomplete`,
`say`) and read what the bot did from the recorded requests and the stored messages.
A command synced with default_member_permissions cannot be run by a member without them (Discord
hides it from them), so `slash` refuses that, as Discord's client would.

What the fake enforces, as Discord does (facts found by trying): JSON responses carry exactly
`Content-Type: application/json` (discord.py parses nothing else); interaction ids are snowflakes
of the current time (older than 15 minutes counts as expired); the interaction callback answer
carries `response_message_id` (else discord.py does not register views); an interaction can be
acknowledged once; follow-ups need an acknowledged interaction. Any route it does not know
answers 404 and is kept in `unknown`, so a test fails on an API call the fake was not taught.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

DISCORD_EPOCH_MS = 1_420_070_400_000
API = "/api/v10"
EPHEMERAL = 1 << 6
LOADING = 1 << 7
# Gateway opcodes
DISPATCH, HEARTBEAT, IDENTIFY, RESUME, HELLO, HEARTBEAT_ACK = 0, 1, 2, 6, 10, 11
MESSAGE_CONTENT_INTENT = 1 << 15

# Interaction callback types
PONG, MESSAGE, DEFER, DEFER_UPDATE, UPDATE, AUTOCOMPLETE_RESULT, MODAL = 1, 4, 5, 6, 7, 8, 9

ALL_PERMISSIONS = str((1 << 50) - 1)
# View channel, send messages, embed links, attach files, read history, use app commands...
MEMBER_PERMISSIONS = str((1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 31))


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


class Snowflakes:
    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def __call__(self) -> int:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (next(self._counter) & 0x3FFFFF)


@dataclass
class Upload:
    field: str
    filename: str | None
    data: bytes
    content_type: str | None


@dataclass
class Request:
    method: str
    path: str  # without the /api/v10 prefix
    query: dict[str, str]
    json: Any
    files: list[Upload]
    status: int = 0  # what the fake answered

    def __repr__(self) -> str:
        return f"<{self.method} {self.path} -> {self.status}>"


@dataclass
class User:
    id: int
    name: str
    admin: bool = False
    bot: bool = False

    def payload(self) -> dict:
        return {"id": str(self.id), "username": self.name, "global_name": self.name,
                "discriminator": "0", "avatar": None, "bot": self.bot, "public_flags": 0}

    def member(self) -> dict:
        return {"user": self.payload(), "roles": [], "joined_at": _now_iso(), "deaf": False,
                "mute": False, "flags": 0, "pending": False, "nick": None, "avatar": None,
                "permissions": ALL_PERMISSIONS if self.admin else MEMBER_PERMISSIONS}


@dataclass
class Interaction:
    """One injected interaction and what the bot answered."""

    id: int
    token: str
    type: int
    user: User
    guild_id: int
    channel_id: int
    data: dict
    message_id: int | None = None  # the message a component / modal came from
    callback: dict | None = None  # the first callback body the bot sent
    original_id: int | None = None  # the message the callback created (or updated)
    followup_ids: list[int] = field(default_factory=list)


@dataclass
class _Shard:
    ws: web.WebSocketResponse
    shard_id: int
    seq: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class FakeDiscord:
    def __init__(self, token: str = "fake-bot-token", shards: int = 1, guilds: int = 1,
                 message_content_allowed: bool = True):
        self.token = token
        self.shard_count = shards
        self.message_content_allowed = message_content_allowed
        self.snowflake = Snowflakes()
        self.app_id = self.snowflake()
        self.bot = User(self.app_id, "gradcheck", bot=True)
        self.owner = User(self.snowflake(), "owner", admin=True)
        self.guilds: dict[int, dict] = {}
        self.channels: dict[int, dict] = {}
        for n in range(guilds):
            gid = self.snowflake()
            while self.shard_of(gid) != n % shards:  # spread the servers over the shards
                gid = self.snowflake()
            cid = self.snowflake()
            self.guilds[gid] = {"id": gid, "name": f"Study group {n + 1}", "channel_id": cid}
            self.channels[cid] = self._text_channel(cid, gid, "general")
        self.guild_id = next(iter(self.guilds))
        self.channel_id = self.guilds[self.guild_id]["channel_id"]
        self.users: list[User] = []
        self.messages: dict[int, dict] = {}
        self.commands: dict[int | None, list[dict]] = {}  # guild id (None: global) -> commands
        self.interactions: dict[str, Interaction] = {}  # by token
        self.requests: list[Request] = []
        self.unknown: list[Request] = []
        self.identified: list[dict] = []
        self._shards: dict[int, _Shard] = {}
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> FakeDiscord:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", API + "/{tail:.*}", self._rest)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        for shard in list(self._shards.values()):
            await shard.ws.close()
        if self._runner:
            await self._runner.cleanup()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def add_user(self, name: str, admin: bool = False) -> User:
        user = User(self.snowflake(), name, admin=admin)
        self.users.append(user)
        return user

    def shard_of(self, guild_id: int) -> int:
        return (guild_id >> 22) % self.shard_count

    # --- payload builders -------------------------------------------------------------------

    def _text_channel(self, cid: int, gid: int, name: str) -> dict:
        return {"id": str(cid), "type": 0, "guild_id": str(gid), "name": name, "position": 0,
                "parent_id": None, "topic": None, "nsfw": False, "permission_overwrites": [],
                "rate_limit_per_user": 0, "last_message_id": None, "flags": 0}

    def _guild_payload(self, gid: int) -> dict:
        g = self.guilds[gid]
        channels = [c for c in self.channels.values() if c["guild_id"] == str(gid) and c["type"] == 0]
        return {
            "id": str(gid), "name": g["name"], "icon": None, "owner_id": str(self.owner.id),
            "unavailable": False, "member_count": 2, "large": False, "features": [],
            "roles": [{"id": str(gid), "name": "@everyone", "permissions": MEMBER_PERMISSIONS,
                       "position": 0, "color": 0, "colors": {"primary_color": 0}, "hoist": False,
                       "managed": False, "mentionable": False, "flags": 0}],
            "channels": channels, "threads": [], "members": [self.bot.member()],
            "emojis": [], "stickers": [], "voice_states": [], "presences": [],
            "stage_instances": [], "guild_scheduled_events": [], "soundboard_sounds": [],
            "preferred_locale": "en-US", "premium_tier": 0, "system_channel_flags": 0,
            "verification_level": 0, "default_message_notifications": 0,
            "explicit_content_filter": 0, "mfa_level": 0, "nsfw_level": 0,
            "joined_at": _now_iso(),
        }

    def _message(self, channel_id: int, author: User, body: dict, files: list[Upload],
                 *, interaction: Interaction | None = None) -> dict:
        """Store a message as Discord would return it."""
        mid = self.snowflake()
        channel = self.channels.get(channel_id, {})
        gid = channel.get("guild_id") or (str(interaction.guild_id) if interaction else None)
        attachments = self._attachments(body, files)
        msg = {
            "id": str(mid), "channel_id": str(channel_id), "author": author.payload(),
            "content": body.get("content") or "", "timestamp": _now_iso(),
            "edited_timestamp": None, "tts": False, "mention_everyone": False,
            "mentions": list(body.get("_mentions", [])), "mention_roles": [],
            "attachments": attachments, "embeds": body.get("embeds") or [], "pinned": False,
            "type": 0, "flags": int(body.get("flags") or 0),
            "components": body.get("components") or [],
        }
        if gid:
            msg["guild_id"] = gid
            msg["member"] = {k: v for k, v in author.member().items() if k != "user"}
        if interaction is not None:
            msg["webhook_id"] = str(self.app_id)
            msg["interaction_metadata"] = {
                "id": str(interaction.id), "type": interaction.type,
                "user": interaction.user.payload(), "authorizing_integration_owners": {},
            }
        ref = body.get("message_reference")
        if ref and ref.get("message_id"):
            target = self.messages.get(int(ref["message_id"]))
            msg["type"] = 19
            msg["message_reference"] = {"type": 0, "message_id": str(ref["message_id"]),
                                        "channel_id": str(ref.get("channel_id") or channel_id),
                                        "guild_id": gid}
            if target is not None:
                msg["referenced_message"] = self._public(target, nested=False)
        self.messages[mid] = msg
        return msg

    def _attachments(self, body: dict, files: list[Upload]) -> list[dict]:
        described = {str(a.get("id")): a for a in body.get("attachments") or []}
        out = []
        for i, upload in enumerate(f for f in files if f.field.startswith("files[")):
            aid = self.snowflake()
            name = described.get(str(i), {}).get("filename") or upload.filename
            url = f"http://127.0.0.1:{self.port}/attachments/{aid}/{name}"
            out.append({"id": str(aid), "filename": name, "size": len(upload.data),
                        "content_type": upload.content_type, "url": url, "proxy_url": url,
                        "_data": upload.data})
        return out

    def _public(self, msg: dict, nested: bool = True) -> dict:
        out = {k: v for k, v in msg.items() if not k.startswith("_")}
        out["attachments"] = [{k: v for k, v in a.items() if not k.startswith("_")}
                              for a in msg["attachments"]]
        if not nested:
            out.pop("referenced_message", None)
        return out

    def _edit(self, msg: dict, body: dict, files: list[Upload]) -> dict:
        for key in ("content", "embeds", "components"):
            if key in body:
                msg[key] = body[key] if body[key] is not None else ([] if key != "content" else "")
        if "flags" in body and body["flags"] is not None:
            msg["flags"] = int(body["flags"])
        msg["flags"] = int(msg.get("flags", 0)) & ~LOADING
        if files:
            msg["attachments"] += self._attachments(body, files)
        msg["edited_timestamp"] = _now_iso()
        return msg

    async def _echo(self, msg: dict) -> None:
        """Discord sends MESSAGE_CREATE for every visible message, the bot's own included."""
        if msg["flags"] & EPHEMERAL or "guild_id" not in msg:
            return
        await self.dispatch("MESSAGE_CREATE", self._public(msg), int(msg["guild_id"]))

    # --- REST -------------------------------------------------------------------------------

    @staticmethod
    def _json(data: Any, status: int = 200) -> web.Response:
        # Exactly application/json: discord.py parses a body only with this content type.
        return web.Response(status=status, body=json.dumps(data).encode(),
                            headers={"Content-Type": "application/json"})

    def _error(self, status: int, message: str, code: int = 0) -> web.Response:
        return self._json({"message": message, "code": code}, status)

    async def _not_found(self, request: web.Request) -> web.Response:
        rec = Request(request.method, request.path, dict(request.query), None, [], 404)
        self.unknown.append(rec)
        return self._error(404, "404: Not Found")

    async def _read(self, request: web.Request) -> tuple[Any, list[Upload]]:
        ctype = request.headers.get("Content-Type", "")
        if ctype.startswith("multipart/"):
            body: Any = {}
            files = []
            reader = await request.multipart()
            async for part in reader:
                data = await part.read(decode=False)
                if part.name == "payload_json":
                    body = json.loads(data)
                else:
                    files.append(Upload(part.name or "", part.filename, bytes(data),
                                        part.headers.get("Content-Type")))
            return body, files
        raw = await request.read()
        return (json.loads(raw) if raw else None), []

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body, files = await self._read(request)
        rec = Request(request.method, path, dict(request.query), body, files)
        self.requests.append(rec)
        try:
            response = await self._route(request, rec)
        except Exception as exc:  # a bug in the fake must not look like a bot bug
            response = self._error(500, f"fake discord failed: {exc!r}")
        rec.status = response.status
        if response.status == 404 and rec not in self.unknown:
            self.unknown.append(rec)
        async with self._changed:
            self._changed.notify_all()
        return response

    async def _route(self, request: web.Request, rec: Request) -> web.Response:
        webhook = rec.path.startswith(("/webhooks/", "/interactions/"))
        if not webhook and request.headers.get("Authorization") != f"Bot {self.token}":
            return self._error(401, "401: Unauthorized")
        for method, pattern, name in _ROUTES:
            m = pattern.fullmatch(rec.path)
            if m and method == rec.method:
                return await getattr(self, name)(rec, **m.groupdict())
        return self._error(404, "404: Not Found")

    async def users_me(self, rec: Request) -> web.Response:
        return self._json(self.bot.payload())

    async def application(self, rec: Request) -> web.Response:
        return self._json({
            "id": str(self.app_id), "name": "gradcheck", "description": "", "icon": None,
            "bot_public": True, "bot_require_code_grant": False, "owner": self.owner.payload(),
            "verify_key": "0" * 64, "flags": MESSAGE_CONTENT_INTENT if self.message_content_allowed else 0,
            "team": None, "summary": "", "rpc_origins": [],
        })

    async def gateway_bot(self, rec: Request) -> web.Response:
        return self._json({"url": self.gateway_url, "shards": self.shard_count,
                           "session_start_limit": {"total": 1000, "remaining": 1000,
                                                   "reset_after": 0, "max_concurrency": 1}})

    async def put_commands(self, rec: Request, app: str, guild: str | None = None) -> web.Response:
        stored = []
        for cmd in rec.json or []:
            cmd = dict(cmd, id=str(self.snowflake()), application_id=str(self.app_id), version="1")
            if guild:
                cmd["guild_id"] = guild
            stored.append(cmd)
        self.commands[int(guild) if guild else None] = stored
        return self._json(stored)

    async def interaction_callback(self, rec: Request, iid: str, token: str) -> web.Response:
        it = self.interactions.get(token)
        if it is None or str(it.id) != iid:
            return self._error(404, "Unknown interaction", 10062)
        if it.callback is not None:
            return self._error(400, "Interaction has already been acknowledged.", 40060)
        body = rec.json or {}
        it.callback = body
        kind, data = body.get("type"), body.get("data") or {}
        message = None
        if kind == MESSAGE:
            message = self._message(it.channel_id, self.bot, data, rec.files, interaction=it)
        elif kind == DEFER:
            message = self._message(it.channel_id, self.bot, {"flags": int(data.get("flags") or 0) | LOADING},
                                    [], interaction=it)
        elif kind == UPDATE and it.message_id is not None:
            message = self._edit(self.messages[it.message_id], data, rec.files)
        elif kind == DEFER_UPDATE:
            message = self.messages.get(it.message_id) if it.message_id else None
        if message is not None:
            it.original_id = int(message["id"])
        if kind in (MESSAGE, DEFER) and message is not None:
            await self._echo(message)
        answer: dict = {"interaction": {
            "id": str(it.id), "type": it.type,
            "response_message_loading": kind == DEFER,
            "response_message_ephemeral": bool(message and message["flags"] & EPHEMERAL),
        }}
        if message is not None:
            answer["interaction"]["response_message_id"] = message["id"]
            answer["resource"] = {"type": kind, "message": self._public(message)}
        return self._json(answer)

    def _interaction_for(self, app: str, token: str) -> Interaction | None:
        it = self.interactions.get(token)
        return it if it is not None and app == str(self.app_id) and it.callback is not None else None

    async def followup(self, rec: Request, app: str, token: str) -> web.Response:
        it = self._interaction_for(app, token)
        if it is None:
            return self._error(404, "Unknown Webhook", 10015)
        msg = self._message(it.channel_id, self.bot, rec.json or {}, rec.files, interaction=it)
        it.followup_ids.append(int(msg["id"]))
        await self._echo(msg)
        return self._json(self._public(msg))

    async def webhook_message(self, rec: Request, app: str, token: str, mid: str) -> web.Response:
        it = self._interaction_for(app, token)
        if it is None:
            return self._error(404, "Unknown Webhook", 10015)
        target = it.original_id if mid == "@original" else int(mid)
        msg = self.messages.get(target) if target else None
        if msg is None:
            return self._error(404, "Unknown Message", 10008)
        if rec.method == "PATCH":
            self._edit(msg, rec.json or {}, rec.files)
        elif rec.method == "DELETE":
            self.messages.pop(target)
            return web.Response(status=204)
        return self._json(self._public(msg))

    async def create_message(self, rec: Request, cid: str) -> web.Response:
        if int(cid) not in self.channels:
            return self._error(404, "Unknown Channel", 10003)
        msg = self._message(int(cid), self.bot, rec.json or {}, rec.files)
        await self._echo(msg)
        return self._json(self._public(msg))

    async def channel_message(self, rec: Request, cid: str, mid: str) -> web.Response:
        msg = self.messages.get(int(mid))
        if msg is None or msg["channel_id"] != cid:
            return self._error(404, "Unknown Message", 10008)
        if rec.method == "PATCH":
            self._edit(msg, rec.json or {}, rec.files)
        return self._json(self._public(msg))

    async def typing(self, rec: Request, cid: str) -> web.Response:
        return web.Response(status=204)

    async def get_channel(self, rec: Request, cid: str) -> web.Response:
        channel = self.channels.get(int(cid))
        return self._json(channel) if channel else self._error(404, "Unknown Channel", 10003)

    async def create_thread(self, rec: Request, cid: str, mid: str) -> web.Response:
        if int(mid) not in self.messages:
            return self._error(404, "Unknown Message", 10008)
        parent = self.channels[int(cid)]
        # A thread started from a message has the message's id.
        thread = dict(self._text_channel(int(mid), int(parent["guild_id"]), (rec.json or {}).get("name", "")),
                      type=11, parent_id=cid, owner_id=str(self.bot.id), message_count=0,
                      member_count=1, thread_metadata={
                          "archived": False, "auto_archive_duration": 1440,
                          "archive_timestamp": _now_iso(), "locked": False})
        self.channels[int(mid)] = thread
        return self._json(thread)

    # --- gateway ----------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(json.dumps({"op": HELLO, "d": {"heartbeat_interval": 41250}}))
        shard: _Shard | None = None
        async for frame in ws:
            if frame.type is not WSMsgType.TEXT:
                continue
            payload = json.loads(frame.data)
            op, d = payload.get("op"), payload.get("d")
            if op == HEARTBEAT:
                await ws.send_str(json.dumps({"op": HEARTBEAT_ACK}))
            elif op == IDENTIFY:
                self.identified.append(d)
                if d.get("token") != self.token:
                    await ws.close(code=4004, message=b"Authentication failed.")
                    break
                if d.get("intents", 0) & MESSAGE_CONTENT_INTENT and not self.message_content_allowed:
                    await ws.close(code=4014, message=b"Disallowed intent(s).")
                    break
                shard_id = (d.get("shard") or [0, 1])[0]
                shard = self._shards[shard_id] = _Shard(ws, shard_id)
                mine = [g for g in self.guilds if self.shard_of(g) == shard_id]
                await self._send(shard, "READY", {
                    "v": 10, "user": self.bot.payload(), "session_id": secrets.token_hex(8),
                    "resume_gateway_url": self.gateway_url, "shard": [shard_id, self.shard_count],
                    "guilds": [{"id": str(g), "unavailable": True} for g in mine],
                    "application": {"id": str(self.app_id), "flags": MESSAGE_CONTENT_INTENT},
                })
                for gid in mine:
                    await self._send(shard, "GUILD_CREATE", self._guild_payload(gid))
                async with self._changed:
                    self._changed.notify_all()
            elif op == RESUME:
                await ws.close(code=4009, message=b"Session timed out.")  # start afresh
        if shard is not None and self._shards.get(shard.shard_id) is shard:
            del self._shards[shard.shard_id]
        return ws

    async def _send(self, shard: _Shard, event: str, data: dict) -> None:
        async with shard.lock:
            shard.seq += 1
            await shard.ws.send_str(json.dumps({"op": DISPATCH, "t": event, "s": shard.seq, "d": data}))

    async def dispatch(self, event: str, data: dict, guild_id: int) -> None:
        shard = self._shards.get(self.shard_of(guild_id))
        if shard is None:
            raise AssertionError(f"no gateway connection for shard {self.shard_of(guild_id)}")
        await self._send(shard, event, data)

    async def connected(self, timeout: float = 10.0) -> None:
        """Until every shard has identified and received its guilds."""
        await self.wait_until(lambda: len(self._shards) == self.shard_count, timeout)

    # --- playing the users --------------------------------------------------------------------

    def _interaction(self, kind: int, user: User, data: dict, *, guild_id: int | None = None,
                     channel_id: int | None = None, message_id: int | None = None) -> Interaction:
        gid = guild_id or self.guild_id
        cid = channel_id or self.guilds[gid]["channel_id"]
        it = Interaction(self.snowflake(), secrets.token_urlsafe(24), kind, user, gid, cid, data,
                         message_id)
        self.interactions[it.token] = it
        return it

    async def _send_interaction(self, it: Interaction) -> Interaction:
        channel = self.channels.get(it.channel_id) or self._text_channel(it.channel_id, it.guild_id, "?")
        payload = {
            "id": str(it.id), "application_id": str(self.app_id), "type": it.type, "data": it.data,
            "guild_id": str(it.guild_id), "channel_id": str(it.channel_id), "channel": channel,
            "guild": {"id": str(it.guild_id), "locale": "en-US", "features": []},
            "member": it.user.member(), "token": it.token, "version": 1,
            "app_permissions": ALL_PERMISSIONS, "locale": "en-US", "guild_locale": "en-US",
            "entitlements": [], "authorizing_integration_owners": {"0": str(it.guild_id)},
            "context": 0, "attachment_size_limit": 10 * 1024 * 1024,
        }
        if it.message_id is not None:
            payload["message"] = self._public(self.messages[it.message_id])
        await self.dispatch("INTERACTION_CREATE", payload, it.guild_id)
        return it

    def command(self, name: str, guild_id: int | None = None) -> dict:
        for key in (guild_id or self.guild_id, None):
            for cmd in self.commands.get(key, []):
                if cmd["name"] == name:
                    return cmd
        raise AssertionError(f"/{name} was never synced; synced: {self.commands}")

    async def slash(self, user: User, name: str, options: dict | None = None, *,
                    sub: str | None = None, resolved: dict | None = None,
                    guild_id: int | None = None) -> Interaction:
        """A user runs /name (or /name sub) with options {name: value}."""
        cmd = self.command(name, guild_id)
        self._may_see(user, cmd)
        opts = self._options(cmd, sub, options or {})
        data: dict[str, Any] = {"id": cmd["id"], "name": name, "type": 1, "options": opts}
        if "guild_id" in cmd:
            data["guild_id"] = cmd["guild_id"]
        if resolved:
            data["resolved"] = resolved
        return await self._send_interaction(self._interaction(2, user, data, guild_id=guild_id))

    @staticmethod
    def _may_see(user: User, cmd: dict) -> None:
        """Discord shows a command with default_member_permissions only to members who have
        them (the whole command: subcommands cannot have their own), so nobody else can run it."""
        needed = cmd.get("default_member_permissions")
        have = int(ALL_PERMISSIONS if user.admin else MEMBER_PERMISSIONS)
        if needed is not None and int(needed) & ~have:
            raise AssertionError(f"Discord hides /{cmd['name']} from {user.name}: it needs "
                                 f"permissions {needed}")

    @staticmethod
    def _options(cmd: dict, sub: str | None, values: dict, focused: str | None = None) -> list[dict]:
        spec = cmd.get("options", [])
        if sub is not None:
            group = next(o for o in spec if o["name"] == sub)
            inner = FakeDiscord._options(group, None, values, focused)
            return [{"name": sub, "type": 1, "options": inner}]
        known = {o["name"]: o for o in spec}
        out = []
        for key, value in values.items():
            if key not in known:
                raise AssertionError(f"/{cmd['name']} has no option {key!r}: {list(known)}")
            opt = {"name": key, "type": known[key]["type"], "value": value}
            if key == focused:
                opt["focused"] = True
            out.append(opt)
        return out

    async def autocomplete(self, user: User, name: str, option: str, value: str) -> Interaction:
        cmd = self.command(name)
        self._may_see(user, cmd)
        data = {"id": cmd["id"], "name": name, "type": 1,
                "options": self._options(cmd, None, {option: value}, focused=option)}
        if "guild_id" in cmd:
            data["guild_id"] = cmd["guild_id"]
        return await self._send_interaction(self._interaction(4, user, data))

    async def press(self, user: User, message_id: int, custom_id: str) -> Interaction:
        msg = self.messages[message_id]
        ids = [c.get("custom_id") for row in msg["components"] for c in row.get("components", [])]
        if custom_id not in ids:
            raise AssertionError(f"message {message_id} has no button {custom_id!r}: {ids}")
        data = {"custom_id": custom_id, "component_type": 2}
        gid = int(msg.get("guild_id") or self.guild_id)
        it = self._interaction(3, user, data, guild_id=gid, channel_id=int(msg["channel_id"]),
                               message_id=message_id)
        return await self._send_interaction(it)

    async def submit(self, user: User, modal_from: Interaction, values: dict[str, str]) -> Interaction:
        """Fill in and submit the modal the bot opened in answer to `modal_from`."""
        cb = await self.wait_callback(modal_from)
        assert cb["type"] == MODAL, f"expected a modal, got callback {cb}"
        modal = cb["data"]

        def fill(components: list[dict]) -> list[dict]:
            out = []
            for comp in components:
                if comp["type"] == 1:
                    out.append({"type": 1, "components": fill(comp["components"])})
                elif comp["type"] == 18:
                    out.append({"type": 18, "component": fill([comp["component"]])[0]})
                elif comp["type"] == 4:
                    out.append({"type": 4, "custom_id": comp["custom_id"],
                                "value": values[comp["custom_id"]]})
            return out

        data = {"custom_id": modal["custom_id"], "components": fill(modal["components"])}
        it = self._interaction(5, user, data, guild_id=modal_from.guild_id,
                               channel_id=modal_from.channel_id, message_id=modal_from.message_id)
        return await self._send_interaction(it)

    async def say(self, user: User, content: str, *, reply_to: int | None = None,
                  mention_bot: bool = False, channel_id: int | None = None) -> dict:
        """A user posts a message (optionally replying to one, optionally mentioning the bot)."""
        cid = channel_id or (int(self.messages[reply_to]["channel_id"]) if reply_to else self.channel_id)
        body: dict[str, Any] = {"content": (f"<@{self.bot.id}> " if mention_bot else "") + content}
        if mention_bot:
            body["_mentions"] = [self.bot.payload()]
        if reply_to:
            body["message_reference"] = {"message_id": str(reply_to), "channel_id": str(cid)}
        msg = self._message(cid, user, body, [])
        gid = int(self.channels[cid]["guild_id"])
        msg["guild_id"] = str(gid)
        await self.dispatch("MESSAGE_CREATE", self._public(msg), gid)
        return msg

    # --- waiting and reading ------------------------------------------------------------------

    async def wait_until(self, predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
        async def loop():
            async with self._changed:
                while not (result := predicate()):
                    await self._changed.wait()
                return result
        try:
            return await asyncio.wait_for(loop(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"timed out after {timeout}s; last requests: {self.requests[-8:]}"
            ) from None

    async def wait_callback(self, it: Interaction, timeout: float = 20.0) -> dict:
        return await self.wait_until(lambda: it.callback, timeout)

    async def wait_reply(self, it: Interaction, timeout: float = 30.0) -> dict:
        """The message that finally answers an interaction: the callback's own message, or the
        first follow-up / edit of the 'thinking' placeholder after a defer."""
        def done():
            if it.callback is None:
                return None
            if it.callback.get("type") in (MESSAGE, UPDATE) and it.original_id:
                return self.messages[it.original_id]
            if it.followup_ids:
                return self.messages[it.followup_ids[0]]
            if it.original_id and not self.messages[it.original_id]["flags"] & LOADING:
                return self.messages[it.original_id]
            return None
        return await self.wait_until(done, timeout)

    async def wait_message(self, predicate: Callable[[dict], bool], timeout: float = 30.0) -> dict:
        def found():
            return next((m for m in list(self.messages.values()) if predicate(m)), None)
        return await self.wait_until(found, timeout)

    def bot_messages_replying_to(self, message_id: int) -> list[dict]:
        return [m for m in self.messages.values()
                if m.get("message_reference", {}).get("message_id") == str(message_id)
                and m["author"]["id"] == str(self.bot.id)]


_ROUTES = [
    ("GET", re.compile(r"/users/@me"), "users_me"),
    ("GET", re.compile(r"/oauth2/applications/@me"), "application"),
    ("GET", re.compile(r"/gateway/bot"), "gateway_bot"),
    ("PUT", re.compile(r"/applications/(?P<app>\d+)/commands"), "put_commands"),
    ("PUT", re.compile(r"/applications/(?P<app>\d+)/guilds/(?P<guild>\d+)/commands"), "put_commands"),
    ("POST", re.compile(r"/interactions/(?P<iid>\d+)/(?P<token>[^/]+)/callback"), "interaction_callback"),
    ("POST", re.compile(r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)"), "followup"),
    ("GET", re.compile(r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)/messages/(?P<mid>@original|\d+)"), "webhook_message"),
    ("PATCH", re.compile(r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)/messages/(?P<mid>@original|\d+)"), "webhook_message"),
    ("DELETE", re.compile(r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)/messages/(?P<mid>@original|\d+)"), "webhook_message"),
    ("POST", re.compile(r"/channels/(?P<cid>\d+)/messages"), "create_message"),
    ("GET", re.compile(r"/channels/(?P<cid>\d+)/messages/(?P<mid>\d+)"), "channel_message"),
    ("PATCH", re.compile(r"/channels/(?P<cid>\d+)/messages/(?P<mid>\d+)"), "channel_message"),
    ("POST", re.compile(r"/channels/(?P<cid>\d+)/typing"), "typing"),
    ("GET", re.compile(r"/channels/(?P<cid>\d+)"), "get_channel"),
    ("POST", re.compile(r"/channels/(?P<cid>\d+)/messages/(?P<mid>\d+)/threads"), "create_thread"),
]
