"""Question of the day, the pure part: when a server's post is due, and which question it gets.

Times are UTC. A post is due once today's slot has passed and nothing was posted since it, so a
bot that was down at the slot posts when it comes back (once), and several processes agree.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from bot.domain.errors import UserError

_TIME_RE = re.compile(r"(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?:utc)?", re.IGNORECASE)


def parse_post_time(text: str) -> tuple[int, int]:
    """'9', '09:00', '21:30 UTC' -> (hour, minute); the time is in UTC."""
    m = _TIME_RE.fullmatch(text.strip())
    if m is None:
        raise UserError(f"{text!r} is not a time: use HH:MM in UTC, for example 09:00.")
    hour, minute = int(m["h"]), int(m["m"] or 0)
    if hour > 23 or minute > 59:
        raise UserError(f"{text!r} is not a time of day: hours go 0-23 and minutes 0-59.")
    return hour, minute


def todays_slot(hour: int, minute: int, now: datetime) -> datetime:
    now = now.astimezone(UTC)
    return now.replace(hour=hour, minute=minute, second=0, microsecond=0)


def qotd_due(hour: int, minute: int, last_posted: datetime | None, now: datetime) -> bool:
    """Post when today's slot has passed and nothing was posted since it."""
    slot = todays_slot(hour, minute, now)
    return now >= slot and (last_posted is None or last_posted < slot)


def next_post(hour: int, minute: int, last_posted: datetime | None, now: datetime) -> datetime:
    """When the next question of the day goes out (now, if one is overdue)."""
    if qotd_due(hour, minute, last_posted, now):
        return now
    slot = todays_slot(hour, minute, now)
    return slot if now < slot else slot + timedelta(days=1)


def qotd_question(question_ids: Sequence[str], day: date, guild_id: int, previous: str | None) -> str:
    """A different question each day, the same one for every process of the same guild."""
    ids = sorted(question_ids)
    if not ids:
        raise UserError("The knowledge base has no questions.")
    start = random.Random(f"{guild_id}:{day.isoformat()}").randrange(len(ids))
    for step in range(len(ids)):
        qid = ids[(start + step) % len(ids)]
        if qid != previous:
            return qid
    return ids[start]
