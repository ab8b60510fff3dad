"""The Discord front end: `gradcheck discord` runs an auto-sharded discord.py bot.

A thin layer: the feature packages beside this module (quiz, study, qotd, mock) turn interactions into calls on the tutor core
(Runtime: knowledge, grader, retriever; GradingService; ProgressStore) and results into embeds.

Start-up order (after discord.py's examples/advanced_startup.py): the token is checked first
(Bot.login), then setup_hook loads the model and index off the event loop, opens the database
(migrating it), registers the persistent buttons and syncs slash commands (to
GRADCHECK_DEV_GUILD when set, else globally), and only then connects to the gateway. So a bad
token fails in a second, not after the model has loaded.

Shutdown: SIGTERM (what `docker stop` and systemd send) and SIGINT (Ctrl-C) both stop the bot
gracefully: it takes no new work (anyone who tries is told it is restarting), waits up to
DRAIN_SECONDS for the work in flight (an answer being graded and stored, a demo running), then
disconnects, closes the database and exits 0. A second signal stops waiting. Mock-night answers
are stored before they are graded, so one cut off here is graded when the night resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import discord
import yarl
from discord.ext import commands
from discord.gateway import DiscordWebSocket

from bot.app.runtime import Runtime
from bot.app.service import GradingService
from bot.app.settings import Settings, get_settings
from bot.app.startup import Services
from bot.domain.errors import StorageError
from bot.frontends.discord.errors import ErrorHandler, ShuttingDown, Slowdown
from bot.frontends.discord.logic import RateLimiter, RecentQuestions
from bot.frontends.discord.views import DYNAMIC_ITEMS
from bot.retrieval.retriever import Retriever
from bot.storage.mock import MockStore
from bot.storage.progress import ProgressStore
from bot.storage.qotd import QotdStore
from bot.tutor.chooser import QuestionChooser
from bot.tutor.timers import Timers
from knowledge.loader import KnowledgeBase

log = logging.getLogger("gradcheck.discord")

EXIT_OK, EXIT_FAIL, EXIT_BAD_INPUT = 0, 1, 2
DEFAULT_RATE = (10, 20.0)  # actions per seconds per user: well above a person, below a script
# How long a stopping bot waits for work in flight: under the 30 s stop_grace_period of
# docker-compose.yml, with room to disconnect and close the database afterwards.
DRAIN_SECONDS = 20.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# One package per feature, each with a setup() that adds its cog (python-discord's layout).
EXTENSIONS = tuple(f"bot.frontends.discord.{name}" for name in ("quiz", "study", "qotd", "mock"))


def point_at(api_base: str | None, gateway: str | None) -> None:
    """Use a Discord-compatible API instead of Discord's own (process-wide: discord.py keeps
    both URLs on classes)."""
    if api_base:
        discord.http.Route.BASE = api_base.rstrip("/")
    if gateway:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)


def intents() -> discord.Intents:
    """Guilds: servers, channels and threads (slash commands and the question of the day);
    guild messages: replies and mentions; message content (privileged): the text of an answer
    given by reply and of a follow-up question."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.guild_messages = True
    wanted.message_content = True
    return wanted


def _shard_ids(text: str | None) -> list[int] | None:
    return [int(x) for x in text.split(",") if x.strip()] if text else None


class GuardedTree(discord.app_commands.CommandTree):
    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.type is not discord.InteractionType.autocomplete:
            self.client.check_rate(interaction.user.id)  # type: ignore[attr-defined]
        return True


class GradcheckBot(commands.AutoShardedBot):
    def __init__(
        self,
        settings: Settings,
        *,
        runtime: Runtime | None = None,
        rate: tuple[int, float] = DEFAULT_RATE,
        shard_count: int | None = None,
        shard_ids: list[int] | None = None,
        qotd_every: float | None = 60.0,
        **options: Any,
    ):
        point_at(settings.discord_api_base, settings.discord_gateway)
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False  # no voice here
        super().__init__(
            command_prefix=commands.when_mentioned,  # unused: no text commands
            help_command=None,
            intents=intents(),
            # Nothing the bot posts can ping, whatever user text it echoes.
            allowed_mentions=discord.AllowedMentions.none(),
            tree_cls=GuardedTree,
            shard_count=shard_count if shard_count is not None else settings.shard_count,
            # None: every shard (discord.py accepts it; its hint says list only).
            shard_ids=shard_ids if shard_ids is not None else _shard_ids(settings.shard_ids),  # type: ignore[arg-type]
            **options,  # e.g. guild_ready_timeout
        )
        if settings.discord_gateway:
            # Auto-sharding asks /gateway/bot for the URL; the setting wins over its answer.
            ask = self.http.get_bot_gateway

            async def get_bot_gateway():
                shards, _, limits = await ask()
                return shards, settings.discord_gateway, limits

            self.http.get_bot_gateway = get_bot_gateway  # type: ignore[method-assign]
        self.settings = settings
        self.runtime = runtime
        self.errors = ErrorHandler()
        self.tree.on_error = self.errors.app_command_failed  # type: ignore[method-assign]
        self.limiter = RateLimiter(*rate)
        self.recent = RecentQuestions()
        self.qotd_threads: dict[int, str] = {}  # today's thread of answers -> its question
        self.qotd_every = qotd_every  # seconds between checks; None: only when post_due is called
        self.services: Services | None = None  # opened by setup_hook, once the token is accepted
        self.timers = Timers()  # question-of-the-day checks and mock-night deadlines
        # Button and form handlers by action name, registered by the features (views.route).
        self.actions: dict[str, Callable[..., Awaitable[None]]] = {}
        self.draining = False  # stopping: no new work is taken
        self._work: set[asyncio.Task] = set()  # user actions in flight (see drain)
        self._hurry = asyncio.Event()  # a second stop signal: stop waiting for them

    def check_rate(self, user_id: int) -> None:
        """Admit one user action (slash command, button, form, message), from the task that will
        carry it out: refused while the bot is stopping or the user goes too fast; otherwise the
        task counts as work in flight until it ends."""
        if self.draining:
            raise ShuttingDown()
        wait = self.limiter.hit(user_id, time.monotonic())
        if wait:
            raise Slowdown(wait)
        self.track()

    def track(self, task: asyncio.Task | None = None) -> None:
        """Count a task (default: the current one) as work a stopping bot waits for."""
        task = task or asyncio.current_task()
        if task is not None and not task.done():
            self._work.add(task)
            task.add_done_callback(self._work.discard)

    def untrack(self) -> None:
        """The current task only waits from now on (e.g. for a confirmation): don't wait for it."""
        task = asyncio.current_task()
        if task is not None:
            self._work.discard(task)

    async def drain(self, timeout: float = DRAIN_SECONDS) -> int:
        """Stop taking work and wait (at most `timeout` s, or until hurry()) for the work in
        flight, including work it starts meanwhile; returns how many tasks were still running."""
        self.draining = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        me = asyncio.current_task()
        first = True
        while True:
            pending = {t for t in self._work if not t.done() and t is not me}
            left = deadline - loop.time()
            if not pending or left <= 0 or self._hurry.is_set():
                break
            if first:
                log.info("stopping: waiting up to %.0f s for %d action(s) in flight",
                         left, len(pending))
                first = False
            hurry = asyncio.ensure_future(self._hurry.wait())
            try:
                await asyncio.wait({*pending, hurry}, timeout=left,
                                   return_when=asyncio.FIRST_COMPLETED)
            finally:
                hurry.cancel()
        if pending:
            log.warning("stopping with %d action(s) unfinished", len(pending))
        return len(pending)

    def hurry(self) -> None:
        self._hurry.set()

    async def setup_hook(self) -> None:
        if self.runtime is None:
            log.info("loading the model and index (the first run builds the index: minutes)")
        self.services = await Services.open(self.settings, self.runtime)  # migrates the database
        self.runtime = self.services.runtime
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        self.add_dynamic_items(*DYNAMIC_ITEMS)
        await self.sync_commands()

    async def sync_commands(self) -> None:
        if self.settings.dev_guild:
            guild = discord.Object(self.settings.dev_guild)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d slash commands to guild %s", len(synced), guild.id)
        else:
            synced = await self.tree.sync()
            log.info("synced %d slash commands globally (may take a while to show)", len(synced))

    async def on_ready(self) -> None:
        log.info("connected as %s to %d server(s) with %d shard(s)",
                 self.user, len(self.guilds), self.shard_count or 1)

    async def on_message(self, message: discord.Message) -> None:
        pass  # no prefix commands; the Quiz cog listens for answers and follow-ups

    async def on_error(self, event_method: str, /, *args, **kwargs) -> None:
        await self.errors.event_failed(event_method, *args)

    async def close(self) -> None:
        await super().close()
        await self.timers.stop()
        if self.services is not None:
            services, self.services = self.services, None
            await services.close()

    # The parts the features use, from the services start-up built.

    def _services(self) -> Services:
        if self.services is None:
            raise RuntimeError("the bot's services are not open (setup_hook has not run)")
        return self.services

    @property
    def service(self) -> GradingService:
        return self._services().grading

    @property
    def progress(self) -> ProgressStore:
        return self._services().progress

    @property
    def qotd_store(self) -> QotdStore:
        return self._services().qotd

    @property
    def mock_store(self) -> MockStore:
        return self._services().mocks

    @property
    def chooser(self) -> QuestionChooser:
        return self._services().chooser

    @property
    def kb(self) -> KnowledgeBase:
        return self._services().runtime.kb

    @property
    def retriever(self) -> Retriever:
        return self._services().runtime.retriever


def _fail(message: str) -> int:
    print(f"gradcheck: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _on_stop_signals(callback) -> list[signal.Signals]:
    """Call `callback(signal)` on SIGTERM and SIGINT; the signals it could be installed for
    (none outside the main thread, e.g. when a test runs the bot in a thread)."""
    loop = asyncio.get_running_loop()
    installed = []
    for sig in STOP_SIGNALS:
        try:
            loop.add_signal_handler(sig, callback, sig)
        except (NotImplementedError, RuntimeError, ValueError):
            continue
        installed.append(sig)
    return installed


async def _serve(settings: Settings, token: str, runtime: Runtime | None) -> None:
    stop = asyncio.Event()
    async with GradcheckBot(settings, runtime=runtime) as bot:

        def on_signal(sig: signal.Signals) -> None:
            if stop.is_set():
                log.info("%s again: not waiting any longer", sig.name)
                bot.hurry()
                return
            log.info("%s: stopping (no new work; finishing what is in flight)", sig.name)
            stop.set()

        installed = _on_stop_signals(on_signal)
        runner = asyncio.create_task(bot.start(token), name="gradcheck-discord")
        stopper = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if not runner.done():  # a stop signal
                await bot.drain()
                runner.cancel()  # as Ctrl-C used to: `async with` then closes everything
                with contextlib.suppress(asyncio.CancelledError):
                    await runner
            else:
                runner.result()  # start() failed: raise why
        finally:
            stopper.cancel()
            loop = asyncio.get_running_loop()
            for sig in installed:
                loop.remove_signal_handler(sig)
    if stop.is_set():
        log.info("stopped: disconnected, database closed")


def run_discord(settings: Settings | None = None, runtime: Runtime | None = None) -> int:
    """Run the bot until interrupted; 2 with a one-line reason when the token or intents are
    not accepted. (`runtime`: an already loaded model and index, e.g. in tests.)"""
    settings = settings or get_settings()
    token = settings.discord_token.get_secret_value().strip() if settings.discord_token else ""
    if not token:
        return _fail(
            "DISCORD_TOKEN is not set: create a bot in the Discord developer portal "
            "(see 'Run it on Discord' in the README) and export DISCORD_TOKEN=<its token>"
        )
    if logging.getLogger().level > logging.INFO:
        log.setLevel(logging.INFO)  # connection and failure lines are for the operator
    try:
        asyncio.run(_serve(settings, token, runtime))
    except discord.LoginFailure:
        return _fail(
            "Discord rejected DISCORD_TOKEN (401 Unauthorized): copy the token again from the "
            "developer portal (Bot > Reset Token)"
        )
    except discord.PrivilegedIntentsRequired:
        return _fail(
            "Discord refused the Message Content intent: enable it in the developer portal "
            "under Bot > Privileged Gateway Intents"
        )
    except StorageError as exc:
        print(f"gradcheck: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except discord.GatewayNotFound:
        return _fail("cannot reach the Discord gateway; check the network or "
                     "GRADCHECK_DISCORD_GATEWAY")
    return EXIT_OK
