"""Interviewer mode of a mock night: people paired as interviewer and candidate; the interviewer
marks the candidate's key points beside the grader's verdict."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.enums import NightMode, Role
from bot.tutor.night import FINISHED, Answer, Night, NightError


def make_pairs(user_ids: Sequence[int]) -> list[tuple[int, int | None]]:
    """(interviewer, candidate) pairs in join order; with an odd count the last candidate is
    interviewed by the first interviewer too (None: nobody to pair with)."""
    ids = list(user_ids)
    pairs: list[tuple[int, int | None]] = [(ids[i], ids[i + 1]) for i in range(0, len(ids) - 1, 2)]
    if len(ids) % 2:
        pairs.append((pairs[0][0] if pairs else ids[-1], ids[-1] if pairs else None))
    return pairs


def assign_pairs(night: Night, by: int) -> list[tuple[int, int | None]]:
    """Interviewer mode: pair everyone present (in join order) as interviewer and candidate."""
    night.require_host(by, "pair people up")
    if night.state == FINISHED:
        raise NightError("This night is over.")
    people = [p.user_id for p in sorted(night.present, key=lambda p: p.joined_at)]
    if len(people) < 2:
        raise NightError("Interviewer mode needs at least two people: ask them to Join first.")
    for p in night.participants.values():
        p.role = p.partner_id = None
    pairs = make_pairs(people)
    for interviewer, candidate in pairs:
        assert candidate is not None
        night.participants[candidate].role = Role.CANDIDATE
        night.participants[candidate].partner_id = interviewer
        me = night.participants[interviewer]
        me.role = Role.INTERVIEWER
        me.partner_id = me.partner_id or candidate
    night.mode = NightMode.PAIRS
    return pairs


def assign_pair(night: Night, by: int, interviewer: int, candidate: int) -> list[tuple[int, int]]:
    """Interviewer mode, chosen by the host: `interviewer` interviews `candidate`; other pairs
    stay. Returns every current (interviewer, candidate) pair."""
    night.require_host(by, "pair people up")
    if night.state == FINISHED:
        raise NightError("This night is over.")
    if interviewer == candidate:
        raise NightError("Pick two different people: an interviewer and a candidate.")
    present = {p.user_id for p in night.present}
    for who in (interviewer, candidate):
        if who not in present:
            raise NightError(f"<@{who}> is not in this night: they need to Join first.")
    for p in night.participants.values():  # the candidate leaves any earlier pairing
        if p.user_id == candidate or (p.role is Role.CANDIDATE and p.partner_id == candidate):
            p.role = p.partner_id = None
    night.participants[candidate].role = Role.CANDIDATE
    night.participants[candidate].partner_id = interviewer
    me = night.participants[interviewer]
    me.role = Role.INTERVIEWER
    me.partner_id = me.partner_id or candidate
    night.mode = NightMode.PAIRS
    return [(p.partner_id, p.user_id) for p in night.participants.values()
            if p.role is Role.CANDIDATE and p.partner_id is not None]


def pair_up(night: Night, by: int, interviewer: int | None, candidate: int | None
            ) -> Sequence[tuple[int, int | None]]:
    """`/mock pairs`: the host names one pair (both people), or pairs everyone (neither)."""
    if interviewer is not None and candidate is not None:
        return assign_pair(night, by, interviewer, candidate)
    if interviewer is not None or candidate is not None:
        raise NightError("Name both an interviewer and a candidate, or neither to pair "
                         "everyone.")
    return assign_pairs(night, by)


def check_marker(night: Night, by: int, candidate: int) -> None:
    """Only the candidate's interviewer (or the host) marks their answer."""
    p = night.participants.get(candidate)
    if by not in (night.host_id, p and p.partner_id):
        raise NightError("Only this candidate's interviewer can mark their answer.")


def check_interviewer(night: Night, user_id: int) -> None:
    """The brief (the key points to mark) is for interviewers only."""
    p = night.participants.get(user_id)
    if p is None or p.role is not Role.INTERVIEWER:
        raise NightError("The brief is for interviewers: candidates answer with Answer.")


def candidates_of(night: Night, interviewer: int) -> list[int]:
    return [p.user_id for p in night.participants.values()
            if p.role is Role.CANDIDATE and p.partner_id == interviewer]


def human_vs_auto(answer: Answer) -> tuple[int, int, int]:
    """(points the interviewer marked covered, points the grader found, key points)."""
    n = max(len(answer.covered), len(answer.marks))
    return sum(1 for m in answer.marks if m), sum(answer.covered), n

