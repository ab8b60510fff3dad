"""A mock night's buttons and answer form. Their custom ids carry the night and round
(`gc:m:<action>:<night>:<round>`), so they keep working after a restart."""

from __future__ import annotations

import re

import discord

from bot.frontends.discord.logic import ANSWER_FIELD, clip, modal_values
from bot.frontends.discord.views import interaction_data, route
from knowledge.schema import Entry

ACTIONS = ("join", "leave", "start", "answer", "pause", "resume", "skip", "end", "next", "brief")
MOCK_TEMPLATE = rf"gc:m:(?P<action>{'|'.join(ACTIONS)}):(?P<night>\d+):(?P<round>\d+)"
FORM_RE = re.compile(r"gc:mform:(?P<night>\d+):(?P<round>\d+)")
LABELS = {
    "join": ("Join", "🙋", discord.ButtonStyle.success),
    "leave": ("Leave", "🚪", discord.ButtonStyle.secondary),
    "start": ("Start", "▶️", discord.ButtonStyle.primary),
    "answer": ("Answer", "✍️", discord.ButtonStyle.primary),
    "pause": ("Pause", "⏸️", discord.ButtonStyle.secondary),
    "resume": ("Resume", "▶️", discord.ButtonStyle.success),
    "skip": ("Skip", "⏭️", discord.ButtonStyle.secondary),
    "end": ("End", "⏹️", discord.ButtonStyle.danger),
    "next": ("Next round", "➡️", discord.ButtonStyle.primary),
    "brief": ("Interviewer brief", "🎤", discord.ButtonStyle.secondary),
}
# Interviewer mode: one key point of one candidate's answer marked covered (1) or missed (0).
MARK_TEMPLATE = r"gc:mk:(?P<night>\d+):(?P<round>\d+):(?P<cand>\d+):(?P<index>\d):(?P<value>[01])"


class MockButton(discord.ui.DynamicItem[discord.ui.Button], template=MOCK_TEMPLATE):
    def __init__(self, action: str, night_id: int, round_number: int = 0, *,
                 disabled: bool = False):
        label, emoji, style = LABELS[action]
        super().__init__(discord.ui.Button(
            label=label, emoji=emoji, style=style, disabled=disabled,
            custom_id=f"gc:m:{action}:{night_id}:{round_number}"))
        self.action, self.night_id, self.round_number = action, night_id, round_number

    @classmethod
    async def from_custom_id(cls, interaction, item, match, /) -> MockButton:
        return cls(match["action"], int(match["night"]), int(match["round"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        await route(interaction, "mock.button", self.action, self.night_id, self.round_number)


class MarkButton(discord.ui.DynamicItem[discord.ui.Button], template=MARK_TEMPLATE):
    """On the interviewer's private brief: mark key point `index` of a candidate's answer."""

    def __init__(self, night_id: int, round_number: int, candidate: int, index: int,
                 value: bool, label: str):
        super().__init__(discord.ui.Button(
            label=clip(label, 80),
            style=discord.ButtonStyle.success if value else discord.ButtonStyle.secondary,
            custom_id=f"gc:mk:{night_id}:{round_number}:{candidate}:{index}:{int(value)}"))
        self.args = (night_id, round_number, candidate, index, value)

    @classmethod
    async def from_custom_id(cls, interaction, item, match, /) -> MarkButton:
        return cls(int(match["night"]), int(match["round"]), int(match["cand"]),
                   int(match["index"]), match["value"] == "1", item.label or "")

    async def callback(self, interaction: discord.Interaction) -> None:
        await route(interaction, "mock.mark", *self.args)


class MockAnswerModal(discord.ui.Modal):
    """Private answer; handled by custom id in Mock.on_interaction (survives restarts)."""

    def __init__(self, night_id: int, round_number: int, entry: Entry):
        super().__init__(title=clip(f"Round {round_number} · {entry.id}", 45),
                         custom_id=f"gc:mform:{night_id}:{round_number}", timeout=900)
        self.add_item(discord.ui.Label(
            text="Your answer (hidden until the reveal)", description=clip(entry.prompt, 100),
            component=discord.ui.TextInput(
                custom_id=ANSWER_FIELD, style=discord.TextStyle.paragraph, min_length=1,
                max_length=4000, placeholder="Explain it as you would to an interviewer."),
        ))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        pass  # see the class docstring


def answer_form(interaction: discord.Interaction) -> tuple[str, int, int] | None:
    """(custom id, night id, round) of a submitted answer form; None for anything else."""
    if interaction.type is not discord.InteractionType.modal_submit:
        return None
    custom_id = interaction_data(interaction).get("custom_id", "")
    m = FORM_RE.fullmatch(custom_id)
    return None if m is None else (custom_id, int(m["night"]), int(m["round"]))


def answer_text(interaction: discord.Interaction) -> str:
    return modal_values(interaction_data(interaction).get("components", [])).get(ANSWER_FIELD, "")


def night_view(night_id: int, round_number: int, actions: list[str], disabled: bool = False
          ) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for action in actions:
        view.add_item(MockButton(action, night_id, round_number, disabled=disabled))
    return view
