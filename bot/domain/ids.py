"""Question ids, stated once (DESIGN.md "Question ids"; stored progress and links rely on them).

`8.3.<n>` is question n of chapter 8.3 (FIRST_QUESTION to LAST_QUESTION), `8.3.<n>.<k>` its k-th
sub-question (1-based), `8.3.x.<slug>` a question from outside the book. Never renumber.
"""

from __future__ import annotations

import re

CHAPTER = "8.3"
FIRST_QUESTION, LAST_QUESTION = 41, 70

_CH = re.escape(CHAPTER)
_NUMBERS = "|".join(str(n) for n in range(FIRST_QUESTION, LAST_QUESTION + 1))

# A valid id: group 1 is the question number, group 2 the sub-question (both None for 8.3.x.*).
QUESTION_ID = re.compile(rf"^{_CH}\.(?:({_NUMBERS})(?:\.([1-9]))?|x\.[a-z0-9][a-z0-9-]*)$")
# What someone typed as an id or id prefix ("8.3", "8.3.44", "8.3.x.xor"): loose on purpose,
# the knowledge base decides whether such a question exists.
ID_LIKE = re.compile(rf"^{_CH}(\.[a-z0-9-]+)*$")
# An id inside a longer string, e.g. a button's custom id.
ID_IN_TEXT = rf"{_CH}\.[0-9a-z.\-]+"

ID_RANGE = (f"Ids run {CHAPTER}.{FIRST_QUESTION} to {CHAPTER}.{LAST_QUESTION} (sub-questions like "
            f"{CHAPTER}.44.2) plus {CHAPTER}.x.<name>")
