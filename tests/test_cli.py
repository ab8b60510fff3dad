"""The command-line contract from DESIGN.md, exercised in-process (the model loads once)."""

from __future__ import annotations

import csv
import json

import pytest

from bot.cli import main
from bot.settings import get_settings


@pytest.fixture(autouse=True)
def _same_data_dir(runtime, monkeypatch):
    # The CLI builds its own Runtime from settings: point it at the session's index.
    monkeypatch.setenv("GRADCHECK_DATA_DIR", str(runtime.settings.data_dir))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_grade_json(capsys):
    code, out, _ = run(capsys, "grade", "8.3.62", "Two linear layers compose into a single linear "
                       "map, so they add parameters but no expressive power; put a ReLU between.",
                       "--json")
    assert code == 0
    data = json.loads(out)
    assert data["question_id"] == "8.3.62" and data["verdict"] in ("correct", "partial", "incorrect")
    assert 0 <= data["score"] <= 1


def test_unknown_id_exits_2_with_closest_ids(capsys):
    code, out, err = run(capsys, "grade", "8.3.6", "anything", "--json")
    assert code == 2 and out == ""
    assert "Unknown question id" in err and "8.3." in err
    assert len(err.strip().splitlines()) == 1


def test_empty_answer_exits_2(capsys):
    code, out, err = run(capsys, "grade", "8.3.62", "   ", "--json")
    assert code == 2 and "empty" in err and out == ""


def test_batch_grading_keeps_order_and_reports_bad_lines(capsys, tmp_path):
    batch = tmp_path / "in.jsonl"
    batch.write_text("\n".join([
        json.dumps({"question_id": "8.3.62", "answer": "They collapse into one linear map."}),
        "{broken json",
        json.dumps({"question_id": "8.3.99", "answer": "x"}),
        json.dumps({"question_id": "8.3.65", "answer": "I don't know"}),
    ]) + "\n")
    code, out, err = run(capsys, "grade", "--batch", str(batch), "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 2
    assert len(lines) == 4
    assert lines[0]["question_id"] == "8.3.62"
    assert lines[1]["line"] == 2 and "line 2" in err
    assert lines[2]["line"] == 3
    assert lines[3]["verdict"] == "incorrect"


def test_ask_json(capsys):
    code, out, _ = run(capsys, "ask", "why", "warm", "up", "the", "learning", "rate?", "--json")
    data = json.loads(out)
    assert code == 0
    assert set(data) == {"query", "answer", "confident", "results"}
    assert len(data["results"]) == 3
    assert {"question_id", "score", "prompt"} == set(data["results"][0])


def test_ask_batch_from_stdin(capsys, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO('{"query": "what is a dead relu"}\n{"query": ""}\n'))
    code, out, _ = run(capsys, "ask", "--batch", "-", "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 2 and len(lines) == 2 and "answer" in lines[0] and "error" in lines[1]


def test_demo_list_and_unknown_demo(capsys):
    code, out, _ = run(capsys, "demo", "list", "--json")
    demos = json.loads(out)
    assert code == 0 and {"name", "title", "question_ids"} == set(demos[0])
    code, _, err = run(capsys, "demo", "run", "xorr")
    assert code == 2 and "xor" in err


def test_eval_commands_print_the_contract_fields(capsys, tmp_path):
    grading = tmp_path / "g.jsonl"
    grading.write_text(json.dumps({"question_id": "8.3.65", "answer": "I don't know",
                                   "label": "incorrect"}) + "\n")
    code, out, _ = run(capsys, "eval", "grading", str(grading), "--json")
    assert code == 0
    assert {"n", "accuracy", "macro_f1", "false_accept_rate", "false_reject_rate",
            "confusion"} <= set(json.loads(out))
    retrieval = tmp_path / "r.jsonl"
    retrieval.write_text(json.dumps({"query": "xor network size", "question_id": "8.3.64"}) + "\n")
    for baseline in ([], ["--baseline", "bm25"]):
        code, out, _ = run(capsys, "eval", "retrieval", str(retrieval), "--json", *baseline)
        assert {"n", "recall_at_1", "recall_at_3", "mrr"} <= set(json.loads(out))
    asag = tmp_path / "m.csv"
    with asag.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["qid", "in_published_set", "reference_answer", "student_answer",
                         "student_answer_sent", "score_avg"])
        for answer, score in [("a stack is last in first out", 5), ("it is a list", 2),
                              ("no idea", 0), ("last in, first out order", 4.5)]:
            writer.writerow([1, 1, "A stack stores items last in, first out.", answer, answer, score])
    code, out, _ = run(capsys, "eval", "asag", str(asag), "--json")
    data = json.loads(out)
    assert code == 0 and data["n"] == 4 and data["pearson"] > 0.5
    code, _, err = run(capsys, "eval", "grading", str(tmp_path / "missing.jsonl"), "--json")
    assert code == 2 and "cannot read" in err
