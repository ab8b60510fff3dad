"""Every table, for Alembic and the schema tests: importing this module registers them all on
Base.metadata. Each feature declares its tables beside its store."""

from bot.storage.base import Base
from bot.storage.mock import (
    mock_answers,
    mock_nights,
    mock_participants,
    mock_rounds,
    mock_settings,
)
from bot.storage.progress_tables import attempts, key_point_progress, reviews
from bot.storage.qotd import qotd_schedules

__all__ = [
    "Base",
    "attempts",
    "key_point_progress",
    "mock_answers",
    "mock_nights",
    "mock_participants",
    "mock_rounds",
    "mock_settings",
    "qotd_schedules",
    "reviews",
]
