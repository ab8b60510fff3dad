"""The progress tables (migration 0001): attempts, SM-2 reviews, key point mastery."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.base import Base, BigIntId, UTCDateTime


class Attempt(Base):
    """One graded answer (kept in full: history, stats and leaderboards are computed from it)."""

    __tablename__ = "attempts"
    __table_args__ = (
        CheckConstraint("verdict IN ('correct', 'partial', 'incorrect')", name="verdict"),
        Index(None, "user_id", "created_at"),
        Index(None, "guild_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64))
    guild_id: Mapped[str | None] = mapped_column(String(64))
    question_id: Mapped[str] = mapped_column(String(64))
    answer: Mapped[str] = mapped_column(Text)
    verdict: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)
    hints_used: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Review(Base):
    """SM-2 state per (user, question): see bot.tutor.scheduling."""

    __tablename__ = "reviews"
    __table_args__ = (Index(None, "user_id", "due_at"),)

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    question_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ease: Mapped[float] = mapped_column(Float)
    interval_days: Mapped[float] = mapped_column(Float)
    repetitions: Mapped[int] = mapped_column(Integer)
    lapses: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_score: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class KeyPointProgress(Base):
    """Per key point of a question (index into the entry's key_points): streak and mastery."""

    __tablename__ = "key_point_progress"
    __table_args__ = (
        ForeignKeyConstraint(
            ["user_id", "question_id"],
            ["reviews.user_id", "reviews.question_id"],
            ondelete="CASCADE",
        ),
        Index(None, "user_id", "due_at"),
    )

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    question_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_point_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    times_covered: Mapped[int] = mapped_column(Integer)
    streak: Mapped[int] = mapped_column(Integer)
    mastered: Mapped[bool] = mapped_column(Boolean)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)



attempts = cast(Table, Attempt.__table__)
reviews = cast(Table, Review.__table__)
key_point_progress = cast(Table, KeyPointProgress.__table__)
