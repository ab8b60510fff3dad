"""Every threshold of grading, in one place.

`GradingParams` are the rules' cut-offs: chosen by cross-validation by question on the development
answers (`gradcheck eval grading --calibrate`, over CALIBRATION_GRID) and saved with the verdict
model. The constants below it are fixed (set by hand or by the first build, never calibrated);
changing any of them changes grades, so `eval grading` must be re-run.

The feature definitions of bot.grading.features (e.g. `req_share_50`: share of required points
with P(covers) >= 0.5) are not thresholds of this kind: the fitted model was trained on them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GradingParams:
    """The rules' thresholds on top of the verdict model (saved in bot/grading/verdict_model.json).

    The probability cut-offs were chosen by cross-validation by question on the development
    answers (`gradcheck eval grading --calibrate`), never on the frozen test sets.
    """

    cover_at: float = 0.5  # P(covers) from which a key point is ticked
    contradict_at: float = 0.5  # P(contradicts) from which a key point is flagged as contradicted
    wrong_with_substance: float = 0.5  # a wrong claim beside at least this share of required
    #                                    points is partial (a slip); below it, incorrect
    correct_share: float = 0.5  # share of required points an answer must cover to be correct
    hint_cost: float = 0.15  # each hint lowers the best possible score by this much
    window_tokens: int = 208  # answer tokens the judge reads at once for key points (a key point
    #                           often needs two or three sentences)
    off_question: float = -0.10  # an answer this much closer (cosine) to an unrelated question's
    #                              reference than to its own cannot be correct (on dev: 2 of 182
    #                              correct answers are that far off; every copied reference is)


# Candidate values of GradingParams tried by calibration; coarse on purpose, so calibration cannot
# fit noise.
CALIBRATION_GRID = {
    "cover_at": (0.3, 0.5),
    "contradict_at": (0.5, 0.7, 0.9),
    "wrong_with_substance": (0.34, 0.5),
    "correct_share": (0.0, 0.34, 0.5),
}

# --- preparing an answer (bot.grading.grader.prepare_answer) -----------------------------------
MAX_SENTENCES = 60  # sentences of an answer that are graded; the rest are ignored
ENGLISH_SHARE = 0.6  # below this share of ASCII letters, the answer gets the "tuned for English" note
DONT_KNOW_MAX_WORDS = 12  # an "I don't know" of at most this many words is incorrect at once

# --- the verdict's score (bot.grading.grader.decide) -------------------------------------------
# The score's range for each verdict: P(correct) + 0.5 x P(partial) is clipped into it.
SCORE_BANDS = {"correct": (0.7, 1.0), "partial": (0.35, 0.7), "incorrect": (0.0, 0.35)}

# --- what the similarity check reads (bot.grading.grader.Grader.judgements_many) ----------------
# A misconception claim is stated when the similarity check sees it. CLAIM_SEEN_SIM was chosen by
# cross-validation by question among 0.70 (the first build's), 0.75 and 0.80: at 0.70, sentences
# that correct a claim on its own topic ("random search instead of a grid") flagged 9 of the 60
# reference answers; at 0.80 dev accuracy is 0.785 (0.781), false rejects 0.050 (0.060). The
# frozen blind test, scored once afterwards, had two more false accepts (README). The rest:
CLAIM_SEEN_SIM = 0.80  # a sentence at least this close (cosine) to the claim ...
CLAIM_SEEN_MARGIN = 0.03  # ... and closer by this much than to any key point states it;
CLAIM_ORDER_MARGIN = 0.05  # or its word order (ROUGE-L) is closer to the claim by this much ...
CLAIM_ORDER_SIM = 0.60  # ... and it is at least this close (cosine) to the claim
# A key point an answer sentence states this closely (cosine) is ticked even when the
# cross-encoder misses it (chosen by cross-validation by question among 0.7, 0.75, 0.8, 0.85):
KEY_POINT_SEEN_SIM = 0.80

# --- similarity signals (bot.grading.similarity) -----------------------------------------------
ECHO_AT = 0.90  # an answer sentence this close (cosine) to the prompt is an echo, not a claim
NEGATION_PENALTY = 0.15  # cosine taken off a sentence/claim pair that differ in negation
