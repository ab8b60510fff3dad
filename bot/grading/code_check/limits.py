"""The checker's numbers: what the interpreter will run at all, and the numerical check's sizes,
step, tolerance and seeds."""

from __future__ import annotations

# Limits: what the interpreter will run at all.
MAX_ANSWER_CHARS = 20_000
MAX_NODES = 4_000  # AST nodes in the extracted code
MAX_ELEMS = 10_000  # elements of any array the code creates
MAX_LOOP = 1_000  # iterations of one `for` loop
RUN_STEPS = 30_000  # interpreter steps in one run of the code
TOTAL_STEPS = 1_000_000  # steps over all runs of one check (well under two seconds)
TIME_LIMIT = 2.0  # seconds; a backstop, the step budgets normally stop first

# The numerical check.
SIZES = {"N": 6, "D": 3, "H": 5, "C": 4}  # distinct, so any transposition shows as a shape error
FD_EPS = 1e-5
REL_TOL = 1e-4
SEEDS = (0, 1)  # a "wrong" must hold under both
