"""Buttons, the answer modal and the confirmation view.

Quiz buttons are `DynamicItem`s: their state is in the custom id (see logic.py), the bot
registers the templates at start-up, so a button on a message posted before a restart still
works. Callbacks only `route` to the handler a feature registered on the bot under an action
name (no cog looks another up); discord.py logs and swallows exceptions raised by a dynamic
item, so `route` hands failures to the bot's one error handler itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import discord
from discord import app_commands

from bot.domain.enums import DIFFICULTY_NAMES
from bot.domain.results import AskResult
from bot.frontends.discord.logic import (
    ANSWER_FIELD,
    QUIZ_TEMPLATE,
    REF_TEMPLATE,
    TRY_TEMPLATE,
    QuizRef,
    clip,
    parse_quiz_id,
)
from bot.tutor.chooser import MODES
from knowledge.schema import Entry, Topic

if TYPE_CHECKING:
    from bot.frontends.discord.bot import GradcheckBot

# Slash-command option choices shared by /quiz and /mock start.
TOPIC_CHOICES = [app_commands.Choice(name=t.value, value=t.value) for t in Topic]
DIFFICULTY_CHOICES = [app_commands.Choice(name=name, value=str(key))
                      for key, name in DIFFICULTY_NAMES.items()]
MODE_CHOICES = [app_commands.Choice(name=str(m), value=str(m)) for m in MODES]

BUTTONS = {
    "answer": ("Answer", "✍️", discord.ButtonStyle.primary),
    "hint": ("Hint", "💡", discord.ButtonStyle.secondary),
    "reveal": ("Reveal", "👀", discord.ButtonStyle.secondary),
    "skip": ("Skip", "⏭️", discord.ButtonStyle.secondary),
    "demo": ("Demo", "🧪", discord.ButtonStyle.secondary),
}


async def route(interaction: discord.Interaction, action: str, *args: Any) -> None:
    """Run the handler a feature registered for `action` (GradcheckBot.actions) behind the rate
    limit; failures go to the bot's one error handler (discord.py would swallow them)."""
    bot = cast("GradcheckBot", interaction.client)
    try:
        bot.check_rate(interaction.user.id)
        await bot.actions[action](interaction, *args)
    except Exception as exc:  # handed to the one error handler
        await bot.errors.interaction_failed(interaction, exc, where=f"button {_custom_id(interaction)}")


def interaction_data(interaction: discord.Interaction) -> dict[str, Any]:
    """The raw payload (custom id, form fields), loosely typed: discord.py types it as a union
    of TypedDicts."""
    return cast(dict[str, Any], interaction.data or {})


def _custom_id(interaction: discord.Interaction) -> str:
    return str(interaction_data(interaction).get("custom_id", ""))


class QuizButton(discord.ui.DynamicItem[discord.ui.Button], template=QUIZ_TEMPLATE):
    """Answer / Hint / Reveal / Skip / Demo on a question message."""

    def __init__(self, action: str, ref: QuizRef, *, disabled: bool = False):
        label, emoji, style = BUTTONS[action]
        super().__init__(
            discord.ui.Button(
                label=label, emoji=emoji, style=style, custom_id=ref.custom_id(action),
                disabled=disabled,
            )
        )
        self.action = action
        self.ref = ref

    @classmethod
    async def from_custom_id(cls, interaction, item, match, /) -> QuizButton:
        parsed = parse_quiz_id(match.string)
        assert parsed is not None  # the same pattern matched already
        return cls(*parsed)

    async def callback(self, interaction: discord.Interaction) -> None:
        await route(interaction, "quiz.button", self.action, self.ref)


class ReferenceButton(discord.ui.DynamicItem[discord.ui.Button], template=REF_TEMPLATE):
    """'Show reference' on a graded answer: the model answer, privately, to whoever asks."""

    def __init__(self, question_id: str):
        super().__init__(
            discord.ui.Button(
                label="Show reference", emoji="📖", style=discord.ButtonStyle.secondary,
                custom_id=f"gc:ref:{question_id}",
            )
        )
        self.question_id = question_id

    @classmethod
    async def from_custom_id(cls, interaction, item, match, /) -> ReferenceButton:
        return cls(match["qid"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await route(interaction, "quiz.reference", self.question_id)


class TryButton(discord.ui.DynamicItem[discord.ui.Button], template=TRY_TEMPLATE):
    """A related / due / closest question: starts a quiz on it for whoever presses."""

    def __init__(self, question_id: str, label: str | None = None):
        super().__init__(
            discord.ui.Button(
                label=clip(label or f"Try {question_id}", 80), emoji="➡️",
                style=discord.ButtonStyle.secondary, custom_id=f"gc:try:{question_id}",
            )
        )
        self.question_id = question_id

    @classmethod
    async def from_custom_id(cls, interaction, item, match, /) -> TryButton:
        return cls(match["qid"], item.label)

    async def callback(self, interaction: discord.Interaction) -> None:
        await route(interaction, "quiz.start", self.question_id)


DYNAMIC_ITEMS = (QuizButton, ReferenceButton, TryButton)


def quiz_view(ref: QuizRef, *, has_demo: bool, revealed: bool = False, max_hints: int = 3) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    done = revealed  # after Reveal only Skip and Demo make sense
    view.add_item(QuizButton("answer", ref, disabled=done))
    view.add_item(QuizButton("hint", ref, disabled=done or ref.hints >= max_hints))
    view.add_item(QuizButton("reveal", ref, disabled=done))
    view.add_item(QuizButton("skip", ref))
    view.add_item(QuizButton("demo", ref, disabled=not has_demo))
    return view


def context_view(
    question_id: str | None, related: list[Entry], *, reference: bool
) -> discord.ui.View:
    """Buttons under a graded answer: they also tell a later reply which question it is about
    (see logic.message_role)."""
    view = discord.ui.View(timeout=None)
    if reference and question_id:
        view.add_item(ReferenceButton(question_id))
    for entry in related:
        view.add_item(TryButton(entry.id, f"Next: {entry.id} {entry.prompt}"))
    return view


def ask_view(result: AskResult) -> discord.ui.View:
    """Under an answer: 'Quiz me' on its question, or the closest questions when unsure."""
    hits = result.results[:1] if result.confident else result.results[:3]
    view = discord.ui.View(timeout=None)
    for hit in hits:
        view.add_item(TryButton(hit.question_id, f"Quiz me on {hit.question_id}"))
    return view


class AnswerModal(discord.ui.Modal):
    """The answer form. Its submission is handled by custom id in the Quiz cog's on_interaction
    (not in on_submit), so a form opened before a restart is still graded after it."""

    def __init__(self, ref: QuizRef, entry: Entry):
        super().__init__(title=clip(f"Answer {entry.id}", 45), custom_id=ref.modal_id, timeout=900)
        self.add_item(
            discord.ui.Label(
                text="Your answer, in a few sentences",
                description=clip(entry.prompt, 100),
                component=discord.ui.TextInput(
                    custom_id=ANSWER_FIELD, style=discord.TextStyle.paragraph,
                    min_length=1, max_length=4000,
                    placeholder="Explain it as you would to an interviewer.",
                ),
            )
        )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        pass  # see the class docstring


class ConfirmationView(discord.ui.View):
    """Yes / No for one user (after RoboDanny's ConfirmationView): the caller awaits wait()."""

    def __init__(self, author_id: int, *, timeout: float = 60.0):
        super().__init__(timeout=timeout)
        self.author_id = author_id
        self.value: bool | None = None

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.author_id:
            return True
        await interaction.response.send_message("This confirmation isn't for you.", ephemeral=True)
        return False

    @discord.ui.button(label="Delete everything", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.value = True
        await interaction.response.defer()
        self.stop()

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.value = False
        await interaction.response.defer()
        self.stop()

    async def on_error(self, interaction: discord.Interaction, error: Exception, item) -> None:
        await cast("GradcheckBot", interaction.client).errors.interaction_failed(
            interaction, error, where=f"confirmation {getattr(item, 'custom_id', '?')}"
        )
