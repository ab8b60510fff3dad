"""Key point progress follows the knowledge base's merged, split and rewritten key points.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

Progress per key point is stored by the key point's index in its entry (key_point_progress, and
the "1,0,1" strings of mock_answers.covered / .marks). Between 0501253 and 4421600 the knowledge
base merged some key points, split others and rewrote a few into different claims, so existing
rows of eight entries pointed at the wrong points. This data migration moves them, in one
transaction with the schema migrations; no table changes. The map was read off
`git diff 0501253 4421600 -- knowledge/questions/`, point by point:

| entry    | old -> new index                          | what changed                             |
|----------|-------------------------------------------|------------------------------------------|
| 8.3.43.2 | 0-0 1-1 2-2 4-4; 3 dropped, 5 new          | 3 "no rescaling at inference" moved into |
|          |                                           | 1; new 3 is "no units dropped at test"   |
| 8.3.44.3 | 0-0 1-1 2-2 4-4; 3 dropped                 | 3 said the choice at zero never matters; |
|          |                                           | new 3 says it can (floating point)       |
| 8.3.48   | 0-0 1-1 2+4-2 3-3 5-4                      | "easier" + "different distribution"      |
|          |                                           | merged into 2; 5 moved to 4              |
| 8.3.58.1 | 0+1-0 2-2 3-3 4-4 5-5; 1 new               | SGD + noisy merged; new 1 "least memory" |
| 8.3.58.2 | 0-0 1-1 2-2 3-3 5-5; 4 dropped             | 4: sharp minima as fact -> debated claim |
| 8.3.60.1 | 0-0 1-1 2+3-2 4-4 5-5; 3 new               | 2 and 3 (Wilson et al.) merged; new 3    |
|          |                                           | "less tuning" split out of 1             |
| 8.3.64   | 0+1-0 2-1 3+4-2 5-3; 4 new                 | XOR points merged; new 4 representation  |
| 8.3.66.2 | 0-0 1-1 3-3 4-4 5-5; 2 dropped             | 2: flat minima as fact -> debated claim  |

Entries whose points were only reworded, or got a new point appended at a new index, keep their
rows as they are.

Rules, the same for every row:
- moved: the row moves to its new index unchanged (every column but the index kept as is);
- merged (two old points -> one): each user keeps the better row, by mastered, then streak, then
  times covered, then not currently due, then the lower old index; the other row is deleted;
- dropped (the index now holds a different claim, or no point at all): the row is deleted, so
  the point starts fresh, exactly as a key point never answered (a row of zeros);
- new points get no row; rows with an index the old entry did not have are deleted.
mock_answers.covered and .marks (one value per key point of the round's question, written when
the round was graded) are rebuilt the same way when their length matches the old entry: a merged
point is covered when either source was; a new or dropped point is "-" (not judged). Other
lengths are left alone.

Downgrade changes nothing: deleted and merged rows cannot be restored, and the old indices are
only meaningful with the old knowledge base.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


class Remap:
    """One entry's change: how many key points before and after, and old index -> new index
    (None: dropped). Several old indices with one new index are merged."""

    def __init__(self, old_count: int, new_count: int, moves: Mapping[int, int | None]):
        assert set(moves) == set(range(old_count)), "every old index needs a destination"
        assert all(n is None or 0 <= n < new_count for n in moves.values())
        self.old_count, self.new_count, self.moves = old_count, new_count, dict(moves)

    def sources(self, new: int) -> list[int]:
        return [old for old, n in self.moves.items() if n == new]


REMAPS: dict[str, Remap] = {
    "8.3.43.2": Remap(5, 6, {0: 0, 1: 1, 2: 2, 3: None, 4: 4}),
    "8.3.44.3": Remap(5, 5, {0: 0, 1: 1, 2: 2, 3: None, 4: 4}),
    "8.3.48": Remap(6, 5, {0: 0, 1: 1, 2: 2, 3: 3, 4: 2, 5: 4}),
    "8.3.58.1": Remap(6, 6, {0: 0, 1: 0, 2: 2, 3: 3, 4: 4, 5: 5}),
    "8.3.58.2": Remap(6, 6, {0: 0, 1: 1, 2: 2, 3: 3, 4: None, 5: 5}),
    "8.3.60.1": Remap(6, 6, {0: 0, 1: 1, 2: 2, 3: 2, 4: 4, 5: 5}),
    "8.3.64": Remap(6, 5, {0: 0, 1: 0, 2: 1, 3: 2, 4: 2, 5: 3}),
    "8.3.66.2": Remap(6, 6, {0: 0, 1: 1, 2: None, 3: 3, 4: 4, 5: 5}),
}

key_point_progress = sa.table(
    "key_point_progress",
    sa.column("user_id", sa.String),
    sa.column("question_id", sa.String),
    sa.column("key_point_index", sa.Integer),
    sa.column("times_covered", sa.Integer),
    sa.column("streak", sa.Integer),
    sa.column("mastered", sa.Boolean),
    sa.column("due_at", sa.DateTime(timezone=True)),
)
mock_rounds = sa.table(
    "mock_rounds",
    sa.column("night_id", sa.BigInteger),
    sa.column("number", sa.Integer),
    sa.column("question_id", sa.String),
)
mock_answers = sa.table(
    "mock_answers",
    sa.column("night_id", sa.BigInteger),
    sa.column("round_number", sa.Integer),
    sa.column("user_id", sa.String),
    sa.column("covered", sa.String),
    sa.column("marks", sa.String),
)


def upgrade() -> None:
    conn = op.get_bind()
    for question_id, remap in sorted(REMAPS.items()):
        _remap_key_point_progress(conn, question_id, remap)
        _remap_mock_answers(conn, question_id, remap)


def downgrade() -> None:
    pass  # see the module docstring


def _remap_key_point_progress(conn: sa.Connection, question_id: str, remap: Remap) -> None:
    kp = key_point_progress
    of_question = kp.c.question_id == question_id
    rows = conn.execute(
        sa.select(kp.c.user_id, kp.c.key_point_index, kp.c.mastered, kp.c.streak,
                  kp.c.times_covered, kp.c.due_at.is_(None)).where(of_question)
    ).all()
    doomed: list[tuple[str, int]] = []
    candidates: dict[tuple[str, int], list[tuple[tuple, int]]] = defaultdict(list)
    for user_id, old, mastered, streak, times_covered, not_due in rows:
        new = remap.moves.get(old)
        if new is None:
            doomed.append((user_id, old))
        else:
            rank = (bool(mastered), streak, times_covered, bool(not_due), -old)
            candidates[(user_id, new)].append((rank, old))
    for (user_id, _), ranked in candidates.items():
        ranked.sort(reverse=True)
        doomed += [(user_id, old) for _, old in ranked[1:]]
    for user_id, old in sorted(doomed):
        conn.execute(sa.delete(kp).where(of_question, kp.c.user_id == user_id,
                                         kp.c.key_point_index == old))
    # Each user has at most one row per destination now. Move through negative indices so that
    # no row lands on an index another row has not left yet (PostgreSQL checks keys per row).
    for old, new in sorted(remap.moves.items()):
        if new is not None and new != old:
            conn.execute(sa.update(kp).where(of_question, kp.c.key_point_index == old)
                         .values(key_point_index=-1 - new))
    conn.execute(sa.update(kp).where(of_question, kp.c.key_point_index < 0)
                 .values(key_point_index=-1 - kp.c.key_point_index))


def _remap_mock_answers(conn: sa.Connection, question_id: str, remap: Remap) -> None:
    a, r = mock_answers, mock_rounds
    rows = conn.execute(
        sa.select(a.c.night_id, a.c.round_number, a.c.user_id, a.c.covered, a.c.marks)
        .select_from(a.join(r, (a.c.night_id == r.c.night_id) & (a.c.round_number == r.c.number)))
        .where(r.c.question_id == question_id)
        .order_by(a.c.night_id, a.c.round_number, a.c.user_id)
    ).all()
    for night_id, round_number, user_id, covered, marks in rows:
        new_covered, new_marks = remap_bits(covered, remap), remap_bits(marks, remap)
        if (new_covered, new_marks) != (covered, marks):
            conn.execute(
                sa.update(a)
                .where(a.c.night_id == night_id, a.c.round_number == round_number,
                       a.c.user_id == user_id)
                .values(covered=new_covered, marks=new_marks)
            )


def remap_bits(text: str | None, remap: Remap) -> str | None:
    """A "1,0,-" string (one value per old key point) for the new key points; other lengths and
    empty values unchanged. Merged: "1" if any source is, else "0" if any is; else "-"."""
    if not text:
        return text
    values = text.split(",")
    if len(values) != remap.old_count:
        return text
    out = []
    for new in range(remap.new_count):
        sources = {values[old] for old in remap.sources(new)}
        out.append("1" if "1" in sources else "0" if "0" in sources else "-")
    return ",".join(out)
