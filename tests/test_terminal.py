"""The terminal tutor driven through piped input, checking what a user sees.

In-process runs reuse the session's loaded model (run_terminal(runtime=...)); each test has its
own SQLite file. One test runs the real `gradcheck chat` console script in a subprocess, one
drives the terminal's line editor with prompt_toolkit's pipe input (keys as a terminal sends them).
"""

from __future__ import annotations

import asyncio
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from bot.frontends.terminal.app import run_terminal
from bot.frontends.terminal.line_editor import LineEditor
from bot.storage.progress import ProgressStore

GOOD_65 = (
    "If all weights start at zero, every hidden unit in a layer computes the same output and gets "
    "the same gradient. The updates are identical, so the units stay copies of each other forever "
    "and the layer acts like one unit. Random initialization such as Xavier or He breaks the "
    "symmetry and keeps activation variance stable. Biases can start at zero since random weights "
    "already break the symmetry."
)
ANSI = re.compile(r"\x1b\[")


@pytest.fixture
def chat_settings(settings, tmp_path):
    db = tmp_path / "chat.sqlite3"
    return settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{db}"})


@pytest.fixture
def chat(runtime, chat_settings):
    """Run the tutor on the given input lines; (exit code, stdout, stderr)."""

    def run(*lines: str, user: str = "ada", stdin=None) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        stdin = stdin or io.StringIO("".join(line + "\n" for line in lines))
        code = run_terminal(user=user, stdin=stdin, stdout=out, stderr=err, runtime=runtime,
                            settings=chat_settings)
        return code, out.getvalue(), err.getvalue()

    return run


def test_a_first_session(chat, kb):
    code, out, err = chat(
        "",
        "/quiz 8.3.65",
        "/hint",
        "why does symmetry matter?",
        GOOD_65,
        "/stats",
    )
    assert code == 0 and err == ""
    assert not ANSI.search(out)  # piped: plain text
    assert "Welcome to gradcheck, ada!" in out and "Type /quiz" in out
    entry = kb.entries["8.3.65"]
    assert entry.prompt in out
    assert f"Hint 1/{len(entry.hints)}: {entry.hints[0]}" in out
    assert "Best possible score now 85%" in out
    assert "(follow-up in the context of 8.3.65)" in out
    # graded: verdict, score, key points, reference answer, demo, next question
    assert re.search(r"CORRECT\s+\S+ 85%", out), out
    assert f"✓ {entry.key_point_texts[0]}" in out
    assert "Reference answer" in out and entry.reference_answer.splitlines()[0] in out
    # the chat names demos one way: /demo NAME, in the feedback and in follow-up answers alike
    assert "Demo: /demo zero_init" in out
    assert "gradcheck demo" not in out
    assert f"Try next: {entry.follow_ups[0]}" in out
    assert "Saved. Next review of 8.3.65 in 1 day" in out
    # /stats after one answer
    assert "Attempts: 1 (1 correct), average score 85%" in out
    assert f"Questions tried: 1 of {len(kb.entries)}" in out
    assert out.rstrip().endswith("Bye. Your progress is saved.")


def test_a_second_run_sees_the_progress(chat):
    chat("/quiz 8.3.65", GOOD_65, "/quiz 8.3.49", "/reveal", "/quit", "/quiz")
    code, out, _ = chat("/stats")
    assert code == 0
    assert "Welcome back, ada. 2 attempts so far." in out
    assert "Attempts: 2 (1 correct)" in out and "Questions tried: 2 of" in out
    _, other, _ = chat("/stats", user="grace")  # progress is per user
    assert "Welcome to gradcheck, grace!" in other and "Attempts: 0 (0 correct)" in other


def test_filters_topics_and_bad_input(chat, kb):
    code, out, _ = chat(
        "All units get the same gradient.",
        "/frobnicate",
        "/quiz cooking",
        "/quiz 8.3.44 easy",
        "/topics",
        "/hint",
        "/hint",
        "/hint",
        "/hint",
        "/help",
    )
    assert code == 0
    assert "No question is open, so there is nothing to answer. Type /quiz" in out
    assert "Unknown command /frobnicate. Type /help." in out
    assert "Unknown topic 'cooking'." in out and all(t in out for t in kb.topics())
    assert re.search(r"^8\.3\.44\.\d \(easy; activations", out, re.M), out
    assert "Activation functions" in out  # the group title of the sub-questions
    assert re.search(r"^ *optimization\s+│\s+\d+ │", out, re.M), out  # the /topics table
    assert "No more hints: all 3 used" in out
    assert "Best possible score now 55%" in out
    assert "Answer or question?" in out and "starts with ? or /ask" in out
    assert "/quiz [topic] [difficulty] [mode]" in out  # brackets survive rich markup
    assert "(or /quiz <topic> [easy|medium|hard])" in out


def test_odd_answers(chat):
    long_answer = "Every unit gets the same gradient so nothing breaks the symmetry. " * 80
    code, out, _ = chat(
        "/quiz 8.3.65",
        "🤷‍♂️🤷‍♂️",
        long_answer,
        "/quiz 8.3.65",
        "所有权重为零时，同一层的所有神经元得到相同的梯度，对称性永远不会被打破。",
        "/ask",
        "/demo nonexistent",
    )
    assert code == 0
    assert "That has no words to grade" in out
    assert "note: Graded the first 4000 characters" in out
    [echo] = [line for line in out.splitlines() if line.startswith("> Every unit")]
    assert echo.endswith("...") and len(echo) < 320
    assert "tuned for English" in out
    assert "Ask something after the '?'" in out
    assert "Unknown demo 'nonexistent'" in out
    assert out.count("Saved. Next review") == 2


def test_continued_lines_and_forget(chat):
    code, out, _ = chat(
        "/quiz 8.3.65",
        "Every hidden unit gets the same gradient, \\",
        "so the units stay identical.",
        "/forget",
        "/forget yes",
        "/stats",
    )
    assert code == 0
    assert out.count("Saved. Next review") == 1  # one answer, written over two lines
    assert "Type /forget yes to confirm." in out
    assert "Deleted 1 attempt and all reviews of ada." in out
    assert "Attempts: 0 (0 correct)" in out


def test_a_piped_code_block_is_one_answer_and_its_code_is_run(chat):
    code, out, _ = chat(
        "/quiz 8.3.43.1",
        "```python",
        "h = X @ W1 + b1",
        "a = np.maximum(0, h)",
        "out = a @ W2 + b2",
        "loss = 0.5 * ((out - y) ** 2).sum()",
        "dout = out - y",
        "dW2 = dout @ a.T",  # wrong: the transposes are swapped
        "da = dout @ W2.T",
        "dh = da * (h > 0)",
        "dW1 = X.T @ dh",
        "```",
        "/stats",
    )
    assert code == 0
    assert out.count("Saved. Next review") == 1  # the whole block was one answer
    assert "No question is open" not in out
    assert "I ran your code: `dW2 = dout @ a.T` fails" in " ".join(out.split())  # rich wraps lines
    assert not re.search(r"^CORRECT", out, re.MULTILINE)


def test_ctrl_c_and_end_of_input_exit_cleanly_with_progress_saved(chat):
    class Interrupting(io.StringIO):
        def readline(self, *args):
            line = super().readline(*args)
            if not line:
                raise KeyboardInterrupt
            return line

    code, out, _ = chat(stdin=Interrupting(f"/quiz 8.3.65\n{GOOD_65}\n/quiz 8.3.49\n"))
    assert code == 0 and "Bye. Your progress is saved." in out
    code, out, _ = chat("/stats")  # end of input: no /quit needed
    assert code == 0 and "Attempts: 1 (1 correct)" in out


def test_demo_runs_the_open_questions_demo(chat, kb, settings):
    code, out, _ = chat("/demo", "/quiz 8.3.65", "/demo")
    assert code == 0
    assert "No question yet: /quiz first" in out
    assert "Running demo zero_init..." in out and "zero_init passed" in out
    plots = re.findall(r"^  plot saved: (.+)$", out, re.M)
    assert plots and all(Path(p).exists() for p in plots)
    assert all(Path(p).is_relative_to(settings.demo_dir) for p in plots)


def test_corrupt_database_is_reported_and_left_alone(runtime, chat_settings):
    path = Path(chat_settings.database_url.split("///", 1)[1])
    garbage = b"this is not a database " * 100
    path.write_bytes(garbage)
    out, err = io.StringIO(), io.StringIO()
    code = run_terminal(user="ada", stdin=io.StringIO("/quiz\n"), stdout=out, stderr=err,
                        runtime=runtime, settings=chat_settings)
    assert code == 2
    message = err.getvalue().strip()
    assert "\n" not in message and str(path) in message and "left untouched" in message
    assert out.getvalue() == ""
    assert path.read_bytes() == garbage


def test_gradcheck_chat_console_script(subprocess_env):
    script = Path(sys.executable).with_name("gradcheck")
    proc = subprocess.run(
        [str(script), "chat", "--user", "script"],
        input="/quiz\nThe weights would all get the same gradient.\n/quit\n",
        capture_output=True, text=True, env=subprocess_env, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Loading the model..." in proc.stdout
    assert re.search(r"^(CORRECT|PARTIAL|INCORRECT) ", proc.stdout, re.M), proc.stdout
    assert "Saved. Next review" in proc.stdout


def test_quiz_refuses_two_values_of_one_filter(chat):
    code, out, _ = chat("/quiz easy hard", "/quiz optimization regularization", "/quiz review cram",
                        "/quiz easy e initialization")
    assert code == 0
    assert "/quiz takes one difficulty, not two (easy and hard)." in out
    assert "/quiz takes one topic, not two (optimization and regularization)." in out
    assert "/quiz takes one mode, not two (review and cram)." in out
    assert out.count("hints available") == 1  # only the last one asked a question
    assert "8.3.65 (easy; initialization" in out


def test_next_says_when_it_widens_the_filters(chat):
    # 8.3.65 is the only easy initialization question: /next has to drop a filter, and says so
    code, out, _ = chat("/quiz initialization easy", "/next")
    assert code == 0
    assert "8.3.65 (easy; initialization" in out
    assert ("You have had every question matching initialization, easy in this session, so /next "
            "now asks from initialization (dropped the difficulty filter). /quiz initialization "
            "easy asks one of them again.") in out
    assert re.search(r"^8\.3\.\S+ \(medium; .*initialization", out, re.M), out


def test_demo_list_inside_the_chat(chat, kb):
    code, out, _ = chat("/demo list", "/demo zero_nit", "/quiz 8.3.42", "/demo")
    assert code == 0
    for demo in kb.demos.values():
        assert re.search(rf"^  {demo.name} +{re.escape(demo.title)} \(", out, re.M), out
    assert "Unknown demo 'zero_nit'. Did you mean zero_init? /demo list shows them all." in out
    assert "8.3.42 has no demo; /demo list shows them all." in out
    assert "gradcheck demo" not in out  # no shell command inside the chat


def test_demos_are_named_one_way_in_the_chat(chat):
    # the reveal lists the question's demo; the follow-up answer (from the retriever, which
    # speaks shell) names it too: both as /demo NAME
    code, out, _ = chat("/quiz 8.3.65", "/reveal", "? why not initialize all weights to zero")
    assert code == 0
    assert "Demo: /demo zero_init" in out
    assert out.count("/demo zero_init") == 2, out
    assert "gradcheck demo" not in out


def test_the_line_editor_keeps_a_pasted_answer_and_a_code_block_whole(runtime, chat_settings,
                                                                       tmp_path):
    """A terminal session: a pasted multi-line answer and a typed ``` block are one answer each."""
    pasted = ("Forward: h = X @ W1 + b1, a = np.maximum(0, h), scores = a @ W2 + b2, softmax "
              "and cross-entropy; cache h and a.\n"
              "Backward: ds = (p - onehot(y)) / N\n"
              "dW2 = a.T @ ds; db2 = ds.sum(axis=0)\n"
              "da = ds @ W2.T; dh = da * (h > 0)\n"
              "dW1 = X.T @ dh; db1 = dh.sum(axis=0)")
    fenced = ["```python", "h = X @ W1 + b1", "a = np.maximum(0, h)", "s = a @ W2 + b2",
              "ds = p.copy(); ds[np.arange(N), y] -= 1; ds /= N", "dW2 = a.T @ ds",
              "dh = (ds @ W2.T) * (h > 0)", "dW1 = X.T @ dh", "```"]
    out, err = io.StringIO(), io.StringIO()
    with create_pipe_input() as keys:
        keys.send_text("/quiz 8.3.43.1\r")
        keys.send_text("\x1b[200~" + pasted.replace("\n", "\r\n") + "\x1b[201~\r")
        keys.send_text("/quiz 8.3.43.1\r" + "\r".join(fenced) + "\r")
        keys.send_text("/stats\r\x04")
        editor = LineEditor(tmp_path / "history", input=keys, output=DummyOutput())
        code = run_terminal(user="ada", stdin=io.StringIO(""), stdout=out, stderr=err,
                            runtime=runtime, settings=chat_settings, editor=editor)
    text = out.getvalue()
    assert code == 0 and err.getvalue() == ""
    assert text.count("Saved. Next review of 8.3.43.1") == 2, text
    assert "No question is open" not in text and "Attempts: 2 " in text

    async def answers() -> list[str]:
        store = await ProgressStore.open(chat_settings.resolved_database_url)
        try:
            return [a.answer for a in await store.recent_attempts("ada")]
        finally:
            await store.close()

    assert sorted(asyncio.run(answers())) == sorted([pasted, "\n".join(fenced)])
