"""Quality measurements: grading on labelled answers, retrieval on paraphrased questions, and the
Mohler 2011 short-answer benchmark. Each can be run beside a plain lexical baseline.

Calibration (`eval grading --calibrate`) tunes the grading thresholds with cross-validation *by
question*: thresholds are chosen on some questions and measured on the others, so the reported
figure never comes from the answers it was tuned on.
"""

from __future__ import annotations

import csv
import itertools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bot.grading.grader import decide
from bot.grading.thresholds import CALIBRATION_GRID, GradingParams
from index.lexical import BM25, TfIdf

LABELS = ("correct", "partial", "incorrect")
FOLDS = 5


class EvalInputError(Exception):
    pass


def read_labelled(path: str, fields: tuple[str, ...]) -> list[dict]:
    try:
        text = Path(path).read_text(encoding="utf-8") if path != "-" else sys.stdin.read()
    except OSError as exc:
        raise EvalInputError(f"cannot read {path}: {exc.strerror}") from exc
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not all(isinstance(obj.get(f), str) and obj[f].strip() for f in fields):
                raise ValueError(f"needs non-empty string fields {', '.join(fields)}")
        except (json.JSONDecodeError, ValueError, AttributeError) as exc:
            print(f"line {number}: skipped ({exc})", file=sys.stderr)
            continue
        rows.append(obj)
    if not rows:
        raise EvalInputError(f"{path}: no usable lines")
    return rows


def grading_metrics(labels: list[str], preds: list[str]) -> dict:
    n = len(labels)
    confusion = {t: {p: 0 for p in LABELS} for t in LABELS}
    for t, p in zip(labels, preds, strict=True):
        confusion[t][p] += 1
    f1s = []
    for c in LABELS:
        tp = confusion[c][c]
        predicted = sum(confusion[t][c] for t in LABELS)
        actual = sum(confusion[c].values())
        prec = tp / predicted if predicted else 0.0
        rec = tp / actual if actual else 0.0
        f1s.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    n_incorrect = sum(confusion["incorrect"].values()) or 1
    n_correct = sum(confusion["correct"].values()) or 1
    return {
        "n": n,
        "accuracy": round(sum(confusion[c][c] for c in LABELS) / n, 4),
        "macro_f1": round(float(np.mean(f1s)), 4),
        "false_accept_rate": round(confusion["incorrect"]["correct"] / n_incorrect, 4),
        "false_reject_rate": round(confusion["correct"]["incorrect"] / n_correct, 4),
        "confusion": confusion,
    }


def _objective(m: dict) -> float:
    # Accuracy, with false accepts and false rejects above 5% costing heavily: a grade people
    # trust matters more than a point of accuracy.
    return m["accuracy"] - 2 * max(0.0, m["false_accept_rate"] - 0.05) - 2 * max(
        0.0, m["false_reject_rate"] - 0.05
    )


# --- semantic grading ----------------------------------------------------------------------------


def _judged(grader, rows: list[dict], leave_writer_out: bool = False) -> list:
    """`leave_writer_out`: the answer memory leaves out every answer by the row's own writer."""
    from bot.grading.answer_memory import writer_of

    out = []
    for start in range(0, len(rows), 64):
        chunk = rows[start : start + 64]
        out.extend(grader.judgements_many([(r["question_id"], r["answer"]) for r in chunk],
                                          [writer_of(r) for r in chunk] if leave_writer_out else None))
    return out


MEMORY_DROPOUT = 0.3  # share of fitting rows shown an empty memory, so a new question (no labelled
#                       answers yet) is graded as well as before the memory (cross-validated by
#                       question: 0.754 with the memory emptied, against 0.755 before it existed)


def _without_memory(judged: list) -> list:
    from dataclasses import replace

    from bot.grading.features import MemoryFeatures

    return [(prep, j, x if x.memory is None else replace(x, memory=MemoryFeatures.empty_memory()))
            for prep, j, x in judged]


def _predict(grader, rows, judged, params, model) -> list[str]:
    from bot.grading.grader import required_mask

    out: list[str] = []
    for r, (prep, j, x) in zip(rows, judged, strict=True):
        entry = grader.entry(r["question_id"])
        probs = model.probabilities_of(x) if model is not None else None
        out.append(decide(j, required_mask(entry), params, no_claims=prep.no_claims is not None,
                          probs=probs).verdict)
    return out


def calibrate_model(grader, rows, judged):
    """Fit the verdict model on `rows`, then the rule thresholds with the best objective there."""
    from dataclasses import replace

    from bot.grading.calibration import fit_verdict_model
    from bot.grading.features import verdict_feature_names

    names = verdict_feature_names(with_similarity=grader.similarity is not None,
                                  with_memory=grader.memory is not None)
    labels = [r["label"] for r in rows]
    fitting = judged
    if grader.memory is not None:  # a fixed, seeded share of rows seen as answers to a new question
        empty = set(np.flatnonzero(np.random.default_rng(13).random(len(rows)) < MEMORY_DROPOUT).tolist())
        emptied = _without_memory(judged)
        fitting = [emptied[i] if i in empty else judged[i] for i in range(len(rows))]
    features = np.array([x.vector(names) for _, _, x in fitting])  # (N, F), columns by name
    model = fit_verdict_model(features, labels, names, GradingParams())
    best, best_obj = model.params, -1e9
    keys = list(CALIBRATION_GRID)
    for values in itertools.product(*CALIBRATION_GRID.values()):
        chosen: dict[str, Any] = dict(zip(keys, values, strict=True))  # GradingParams fields
        params = replace(model.params, **chosen)
        obj = _objective(grading_metrics(labels, _predict(grader, rows, judged, params, model)))
        if obj > best_obj + 1e-9:
            best, best_obj = params, obj
    return replace(model, params=best)


def eval_grading(path: str, baseline: str | None, runtime_factory: Callable, calibrate: bool = False,
                 save: str | None = None, leave_writer_out: bool = False) -> dict:
    rows = read_labelled(path, ("question_id", "answer", "label"))
    bad = [r for r in rows if r["label"] not in LABELS]
    if bad:
        raise EvalInputError(f"unknown label {bad[0]['label']!r} (use {', '.join(LABELS)})")
    rt = runtime_factory()
    unknown = sorted({r["question_id"] for r in rows} - set(rt.kb.entries))
    if unknown:
        print(f"skipped answers to unknown question ids: {', '.join(unknown)}", file=sys.stderr)
        rows = [r for r in rows if r["question_id"] in rt.kb.entries]
    labels = [r["label"] for r in rows]
    if baseline == "tfidf":
        return _tfidf_grading(rt.kb, rows) | {
            "method": "tfidf cosine to the reference answer, thresholds cross-validated by question"}
    grader = rt.grader
    # Fitting never lets an answer's own writer vouch for it through the memory.
    judged = _judged(grader, rows, leave_writer_out=leave_writer_out or calibrate)
    if not calibrate:
        preds = _predict(grader, rows, judged, grader.params, grader.model)
        return grading_metrics(labels, preds) | {
            "method": "key-point judgements + similarity signals + labelled answers, shipped verdict model"
                      + (" (memory without the answer's own writer)" if leave_writer_out else "")}
    from dataclasses import asdict

    from bot.grading.calibration import question_folds

    qids = np.array([r["question_id"] for r in rows])
    # Each answer predicted by a model not fitted on its question: with the memory of the other
    # writers' answers to it (a known question), and with no memory at all (a new question).
    held_out_preds = np.empty(len(rows), dtype=object)
    new_question_preds = np.empty(len(rows), dtype=object)
    no_memory = _without_memory(judged)
    fold_params = []
    for held_out in question_folds(list(qids), FOLDS):
        test = np.isin(qids, list(held_out))
        fit = [i for i in range(len(rows)) if not test[i]]
        model = calibrate_model(grader, [rows[i] for i in fit], [judged[i] for i in fit])
        fold_params.append(asdict(model.params))
        held = np.flatnonzero(test)
        held_out_preds[held] = _predict(grader, [rows[i] for i in held], [judged[i] for i in held],
                                        model.params, model)
        new_question_preds[held] = _predict(grader, [rows[i] for i in held], [no_memory[i] for i in held],
                                            model.params, model)
    final = calibrate_model(grader, rows, judged)
    if save:
        Path(save).write_text(json.dumps(final.to_json(), indent=1) + "\n")
        print(f"saved the verdict model fitted on all of {path} to {save}", file=sys.stderr)
    return grading_metrics(labels, list(held_out_preds)) | {
        "method": f"verdict model and thresholds by {FOLDS}-fold cross-validation by question (held-out "
                  "figures; the memory holds the other writers' answers)",
        "new_questions": grading_metrics(labels, list(new_question_preds)),
        "fitted_on_all": asdict(final.params), "fold_params": fold_params,
    }


def _tfidf_grading(kb, rows: list[dict]) -> dict:
    from bot.grading.calibration import question_folds

    refs = {qid: e.reference_answer for qid, e in kb.entries.items()}
    tfidf = TfIdf(list(refs.values()) + [r["answer"] for r in rows])
    answers = tfidf.transform([r["answer"] for r in rows])
    references = tfidf.transform([refs[r["question_id"]] for r in rows])
    sims = (answers * references).sum(axis=1)
    labels = np.array([r["label"] for r in rows])
    qids = np.array([r["question_id"] for r in rows])
    grid = np.round(np.arange(0.0, 0.81, 0.02), 2)
    preds = np.empty(len(rows), dtype=object)
    for held_out in question_folds(list(qids), FOLDS):
        test = np.isin(qids, list(held_out))
        best, best_obj = (0.3, 0.1), -1e9
        for ca, pa in itertools.product(grid, grid):
            if pa >= ca:
                continue
            pred = np.where(sims[~test] >= ca, "correct", np.where(sims[~test] >= pa, "partial", "incorrect"))
            obj = _objective(grading_metrics(list(labels[~test]), list(pred)))
            if obj > best_obj:
                best, best_obj = (ca, pa), obj
        ca, pa = best
        preds[test] = np.where(sims[test] >= ca, "correct", np.where(sims[test] >= pa, "partial", "incorrect"))
    return grading_metrics(list(labels), list(preds))


# --- retrieval ---------------------------------------------------------------------------------


def retrieval_metrics(rankings: list[list[str]], targets: list[str]) -> dict:
    ranks = [r.index(t) + 1 if t in r else None for r, t in zip(rankings, targets, strict=True)]
    n = len(targets)
    return {
        "n": n,
        "recall_at_1": round(sum(1 for r in ranks if r == 1) / n, 4),
        "recall_at_3": round(sum(1 for r in ranks if r and r <= 3) / n, 4),
        "mrr": round(sum(1 / r for r in ranks if r) / n, 4),
    }


def eval_retrieval(path: str, baseline: str | None, runtime_factory: Callable) -> dict:
    rows = read_labelled(path, ("query", "question_id"))
    rt = runtime_factory()
    targets = [r["question_id"] for r in rows]
    queries = [r["query"] for r in rows]
    if baseline:
        ids = list(rt.kb.entries)
        docs = [
            " ".join([e.prompt, e.reference_answer, *e.key_point_texts, *(m.claim for m in e.misconceptions)])
            for e in rt.kb.entries.values()
        ]
        if baseline == "bm25":
            bm25 = BM25(docs)
            scores = np.array([bm25.scores(q) for q in queries])
        else:
            tfidf = TfIdf(docs)
            scores = tfidf.transform(queries) @ tfidf.transform(docs).T
        rankings = [[ids[i] for i in np.argsort(-s)] for s in scores]
        return retrieval_metrics(rankings, targets) | {"method": baseline}
    vecs = rt.embedder.encode(queries)
    rankings = [[qid for qid, _, _ in ranked] for ranked in rt.retriever.rank(vecs, queries)]
    misses = [(q, t, r[0]) for q, t, r in zip(queries, targets, rankings, strict=True) if r[0] != t]
    for q, t, got in misses:
        print(f"miss: {q!r} -> {got} (wanted {t})", file=sys.stderr)
    return retrieval_metrics(rankings, targets) | {"method": "MiniLM + FAISS role-weighted votes, plus BM25"}


# --- Mohler 2011 -------------------------------------------------------------------------------


def read_mohler(path: str) -> list[dict]:
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            rows = [r for r in csv.DictReader(handle) if r.get("in_published_set") == "1"]
    except OSError as exc:
        raise EvalInputError(f"cannot read {path}: {exc.strerror}") from exc
    except csv.Error as exc:
        raise EvalInputError(f"{path}: malformed CSV ({exc})") from exc
    if not rows or "score_avg" not in rows[0]:
        raise EvalInputError(f"{path}: expected the Mohler 2011 CSV with in_published_set and score_avg")
    return rows


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.corrcoef(x, y)[0, 1])


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    def ranks(v):
        order = np.argsort(v, kind="mergesort")
        r = np.empty(len(v))
        r[order] = np.arange(len(v))
        # average ranks for ties
        for value in np.unique(v):
            mask = v == value
            r[mask] = r[mask].mean()
        return r

    return _pearson(ranks(x), ranks(y))


def eval_asag(path: str, baseline: str | None, runtime_factory: Callable) -> dict:
    from bot.grading import beetle

    try:
        if beetle.is_beetle(path):
            return _eval_beetle(path, baseline, runtime_factory)
    except OSError as exc:
        raise EvalInputError(f"cannot read {path}: {exc.strerror}") from exc
    return _eval_mohler(path, baseline, runtime_factory)


def _eval_beetle(path: str, baseline: str | None, runtime_factory: Callable) -> dict:
    from bot.grading import beetle

    rows = beetle.read_beetle(path)
    if baseline == "tfidf":
        return beetle.eval_beetle_cosine(rows, beetle.tfidf_similarity(rows),
                                         "tf-idf cosine, thresholds fitted on train")
    rt = runtime_factory()
    if baseline == "cosine":
        return beetle.eval_beetle_cosine(rows, beetle.cosine_similarity(rows, rt.embedder.encode),
                                         "MiniLM cosine, thresholds fitted on train")
    return beetle.eval_beetle_judge(rows, rt.judge)


def _eval_mohler(path: str, baseline: str | None, runtime_factory: Callable) -> dict:
    from bot.grading.asag import reference_only_scores

    rows = read_mohler(path)
    gold = np.array([float(r["score_avg"]) for r in rows])
    answers = [r["student_answer"] or r["student_answer_sent"] for r in rows]
    references = [r["reference_answer"] for r in rows]
    if baseline == "tfidf":
        tfidf = TfIdf(references + answers)
        pred = (tfidf.transform(answers) * tfidf.transform(references)).sum(axis=1)
        method = "tfidf cosine"
    elif baseline == "cosine":
        vecs = runtime_factory().embedder.encode
        pred = (vecs(answers) * vecs(references)).sum(axis=1)
        method = "MiniLM cosine"
    else:
        rt = runtime_factory()
        pred = reference_only_scores(rt.embedder, answers, references)
        method = "semantic grader with the reference answer only (no key points)"
    return {"n": len(rows), "pearson": round(_pearson(pred, gold), 4),
            "spearman": round(_spearman(pred, gold), 4), "method": method}


def format_report(kind: str, report: dict) -> str:
    lines = [f"{kind} ({report.get('method', '')})"]
    for key, value in report.items():
        if key in ("method", "fold_params"):
            continue
        lines.append(f"  {key}: {json.dumps(value)}")
    return "\n".join(lines)
