"""Grading an answer: the cross-encoder judge, similarity signals, the verdict model (grader.py),
and how they are trained (train.py, calibration.py) and measured (evaluation.py, asag.py)."""
