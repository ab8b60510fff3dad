"""The command-line contract from DESIGN.md, exercised in-process (the model loads once)."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pytest

from bot.app.settings import get_settings
from bot.frontends.cli import main


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


GOOD_62 = ("Two linear layers with no activation between them collapse into a single linear layer: "
           "W2(W1x + b1) + b2 = (W2W1)x + (W2b1 + b2), one weight matrix and one bias. So stacking "
           "them adds no expressive power; the network can still only represent linear functions "
           "of its input, and the extra layer only costs parameters, memory and compute. A "
           "non-linear activation such as ReLU between the layers is what makes depth useful.")


def test_grade_json(capsys, kb):
    code, out, _ = run(capsys, "grade", "8.3.62", GOOD_62, "--json")
    assert code == 0
    assert len(out.splitlines()) == 1  # only the JSON object on stdout
    data = json.loads(out)
    assert data["question_id"] == "8.3.62"
    assert data["verdict"] == "correct"
    assert {"question_id", "verdict", "score", "key_points", "misconceptions", "feedback",
            "reference_answer"} <= set(data)
    assert isinstance(data["score"], float) and 0 <= data["score"] <= 1
    entry = kb.entries["8.3.62"]
    assert [kp["text"] for kp in data["key_points"]] == entry.key_point_texts
    for kp in data["key_points"]:
        assert isinstance(kp["covered"], bool) and isinstance(kp["similarity"], float)
    assert data["misconceptions"] == []  # a correct answer states none
    assert isinstance(data["feedback"], str) and data["feedback"]
    assert data["reference_answer"] == entry.reference_answer


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


# --- bad bytes ------------------------------------------------------------------------------------


def test_bad_bytes_in_a_batch_fail_only_their_own_lines(capsys, tmp_path):
    batch = tmp_path / "in.jsonl"
    batch.write_bytes(b"\n".join([
        json.dumps({"question_id": "8.3.62", "answer": GOOD_62}).encode(),
        b'{"question_id": "8.3.62", "answer": "caf\xe9 is not UTF-8"}',  # Latin-1 byte
        b'{"question_id": "8.3.62", "answer": "a lone \\ud800 surrogate"}',  # valid JSON escape
        json.dumps({"question_id": "8.3.65", "answer": "I don't know"}).encode(),
    ]) + b"\n")
    code, out, err = run(capsys, "grade", "--batch", str(batch), "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 2
    assert len(lines) == 4
    assert lines[0]["question_id"] == "8.3.62" and "verdict" in lines[0]
    assert lines[1] == {"line": 2, "error": lines[1]["error"]} and "UTF-8" in lines[1]["error"]
    assert lines[2]["line"] == 3 and "surrogate" in lines[2]["error"]
    assert lines[3]["question_id"] == "8.3.65" and lines[3]["verdict"] == "incorrect"
    assert "line 2" in err and "line 3" in err and "Traceback" not in err


def test_bad_bytes_in_argv_and_stdin_exit_2_with_one_line(capsys, monkeypatch):
    # Undecodable argv bytes reach Python as lone surrogates (surrogateescape).
    for argv in (["grade", "8.3.62", "caf\udce9 answer", "--json"],
                 ["grade", "8.3.6\udce9", "an answer", "--json"],
                 ["ask", "why caf\udce9?", "--json"]):
        code, out, err = run(capsys, *argv)
        assert code == 2 and out == "", argv
        assert "not valid UTF-8" in err and len(err.strip().splitlines()) == 1, err
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"caf\xe9 answer"), encoding="utf-8"))
    code, out, err = run(capsys, "grade", "8.3.62", "-", "--json")
    assert code == 2 and out == "" and "stdin is not valid UTF-8" in err
    assert len(err.strip().splitlines()) == 1


def test_ask_batch_with_a_lone_surrogate_answers_the_other_lines(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(
        b'{"query": "\\udfff"}\n{"query": "what is a dead relu"}\n'), encoding="utf-8"))
    code, out, _ = run(capsys, "ask", "--batch", "-", "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 2 and lines[0]["line"] == 1 and "surrogate" in lines[0]["error"]
    assert lines[1]["query"] == "what is a dead relu" and lines[1]["results"]


def test_a_line_that_breaks_the_model_costs_only_that_line(capsys, tmp_path, monkeypatch):
    from bot.grading.grader import Grader

    real = Grader.grade_many

    def grade_many(self, items):
        if any("POISON" in answer for _, answer, _ in items):
            raise TypeError("TextEncodeInput must be Union[TextInputSequence, ...]")
        return real(self, items)

    monkeypatch.setattr(Grader, "grade_many", grade_many)
    batch = tmp_path / "in.jsonl"
    batch.write_text("".join(json.dumps({"question_id": "8.3.62", "answer": a}) + "\n"
                             for a in ["They collapse into one linear map.", "POISON", GOOD_62]))
    code, out, err = run(capsys, "grade", "--batch", str(batch), "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 1  # not the user's fault
    assert [line.get("question_id") for line in lines] == ["8.3.62", None, "8.3.62"]
    assert lines[1]["line"] == 2 and "could not grade" in lines[1]["error"]


# --- exit codes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("k", ["0", "-5"])
def test_ask_k_below_one_exits_2(capsys, k):
    code, out, err = run(capsys, "ask", "what is dropout", "--k", k, "--json")
    assert code == 2 and out == ""
    assert "--k" in err and len(err.strip().splitlines()) == 1


def test_demo_run_to_a_bad_out_dir_exits_2_with_one_line(capsys, tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    bad = [str(a_file), str(a_file / "sub")]
    if Path("/proc/self").is_dir():
        bad.append("/proc/self")  # exists, but no file can be written there (not even by root)
    for out_dir in bad:
        code, out, err = run(capsys, "demo", "run", "xor", "--out", out_dir, "--json")
        assert code == 2 and out == "", out_dir
        assert out_dir in err and len(err.strip().splitlines()) == 1, err
    code, _, err = run(capsys, "demo", "run", "xor", "--timeout", "0")
    assert code == 2 and "--timeout" in err


def test_verbose_prints_the_traceback(capsys, monkeypatch):
    def broken(args):
        raise RuntimeError("kaboom")

    monkeypatch.setattr("bot.frontends.cli.cmd_demo_list", broken)
    code, _, err = run(capsys, "demo", "list")
    assert code == 1 and "rerun with -v" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    for argv in (["-v", "demo", "list"], ["demo", "list", "-v"]):
        code, _, err = run(capsys, *argv)
        assert code == 1
        assert "Traceback (most recent call last)" in err and "RuntimeError: kaboom" in err
        assert "in broken" in err  # the frame that raised


# --- before the model, first runs, streaming ------------------------------------------------------


@pytest.fixture
def no_models(monkeypatch):
    """Loading either model fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded")

    monkeypatch.setattr("bot.grading.judge.get_judge", refuse)
    monkeypatch.setattr("bot.app.runtime.get_embedder", refuse)


def test_bad_input_is_refused_before_any_model_loads(capsys, tmp_path, no_models):
    code, _, err = run(capsys, "grade", "8.3.62", "   ", "--json")
    assert code == 2 and "empty" in err
    code, _, err = run(capsys, "grade", "8.3.6", "an answer", "--json")
    assert code == 2 and "Unknown question id" in err
    batch = tmp_path / "in.jsonl"
    batch.write_text('{"question_id": "8.3.62", "answer": ""}\n{"question_id": "nope", "answer": "x"}\n')
    code, out, _ = run(capsys, "grade", "--batch", str(batch), "--json")
    assert code == 2 and [json.loads(line)["line"] for line in out.splitlines()] == [1, 2]
    code, _, err = run(capsys, "ask", "x", "--context", "8.3.999", "--json")
    assert code == 2 and "Unknown question id" in err


def test_first_run_says_it_builds_the_index_and_prepares_the_model(capsys, monkeypatch, tmp_path,
                                                                   runtime):
    fresh = tmp_path / "fresh-data"
    monkeypatch.setenv("GRADCHECK_DATA_DIR", str(fresh))
    get_settings.cache_clear()
    built = []

    def load_or_build(kb, directory, encode, model, kind, progress=None, force=False, encode_tokens=None):
        if not (directory / "meta.json").exists():
            built.extend(progress(range(3)))  # what VectorIndex.build does with the hook
            runtime.index.save(directory)
        return runtime.index

    monkeypatch.setattr("bot.app.runtime.load_or_build", load_or_build)
    code, out, err = run(capsys, "ask", "why", "warm", "up", "the", "learning", "rate?", "--json")
    assert code == 0 and json.loads(out)["results"] and built == [0, 1, 2]
    assert "building the search index" in err and err.count("building the search index") == 1
    # Same data dir again: the index is there, nothing to say.
    code, out, err = run(capsys, "ask", "why", "warm", "up", "the", "learning", "rate?", "--json")
    assert code == 0 and "index" not in err
    # The grading model is exported once per data dir (ONNX): said, not a silent wait.
    judge = runtime.judge  # the session's model: no second export in the test
    monkeypatch.setattr("bot.grading.judge.get_judge", lambda *a, **k: judge)
    code, out, err = run(capsys, "grade", "8.3.62", GOOD_62, "--json")
    assert code == 0 and json.loads(out)["question_id"] == "8.3.62", err
    assert "preparing the grading model" in err


def test_a_stale_index_rebuild_is_announced(capsys):
    from bot.frontends.cli.common import IndexProgress

    assert list(IndexProgress()(range(4))) == [0, 1, 2, 3]
    err = capsys.readouterr().err
    assert "building the search index" in err and "ready" in err


def test_grade_batch_streams_results_as_it_grades(monkeypatch, tmp_path):
    from bot.grading.grader import Grader

    real, printed_before, sizes = Grader.grade_many, [], []

    def grade_many(self, items):
        printed_before.append(sys.stdout.getvalue().count("\n"))
        sizes.append(len(items))
        return real(self, items)

    monkeypatch.setattr(Grader, "grade_many", grade_many)
    monkeypatch.setattr("bot.frontends.cli.answers.BATCH_GROUP", 3)
    monkeypatch.setattr("sys.stdout", io.StringIO())
    batch = tmp_path / "in.jsonl"
    answers = ["They collapse into one linear map.", "No extra power.", "Add a ReLU between.",
               GOOD_62, "The product W2W1 is one matrix.", "It only costs parameters.", "Nothing."]
    batch.write_text("".join(json.dumps({"question_id": "8.3.62", "answer": a}) + "\n"
                             for a in answers))
    code = main(["grade", "--batch", str(batch), "--json"])
    out = sys.stdout.getvalue()
    assert code == 0 and len(out.splitlines()) == len(answers)
    assert len(sizes) >= 3 and max(sizes) <= 3  # graded group by group, not all at the end
    # Each group is graded only after every earlier line was already printed.
    assert printed_before == [sum(sizes[:i]) for i in range(len(sizes))]


def test_grade_batch_shows_a_progress_bar_when_stderr_is_a_terminal(monkeypatch, tmp_path):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stdout", io.StringIO())  # results redirected to a file
    monkeypatch.setattr("sys.stderr", Terminal())
    batch = tmp_path / "in.jsonl"
    batch.write_text(json.dumps({"question_id": "8.3.62", "answer": GOOD_62}) + "\n")
    assert main(["grade", "--batch", str(batch), "--json"]) == 0
    assert "Grading" in sys.stderr.getvalue()
    assert json.loads(sys.stdout.getvalue())["question_id"] == "8.3.62"
