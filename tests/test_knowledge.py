"""The knowledge base: every bundled file loads, every id is there, broken files are reported whole."""

from __future__ import annotations

import json
import textwrap

import pytest

from bot.frontends.cli import main
from knowledge.loader import REQUIRED_IDS, load_knowledge


@pytest.fixture(scope="module")
def bundled():
    return load_knowledge()


BOOK_IDS = [i for i in REQUIRED_IDS if not i.startswith("8.3.x.")]  # chapter 8.3's own questions


def test_bundled_knowledge_has_no_problems(bundled):
    assert bundled.problems == []
    # The book's 44 questions and the extras (8.3.x.*), which grow over time: no exact total.
    assert len(BOOK_IDS) == 44 and set(BOOK_IDS) <= set(bundled.entries)
    assert len(bundled.entries) >= 58
    assert all(i in BOOK_IDS or i.startswith("8.3.x.") for i in bundled.entries)


def test_every_design_id_is_present(bundled):
    assert set(REQUIRED_IDS) <= set(bundled.entries)


def test_sub_questions_link_to_their_parent(bundled):
    for entry in bundled.entries.values():
        if entry.id.count(".") == 3 and not entry.id.startswith("8.3.x."):
            assert entry.parent == entry.id.rsplit(".", 1)[0]
            assert entry.parent in bundled.groups, f"{entry.id}: its file has no group title"


def test_every_follow_up_and_demo_resolves(bundled):
    for entry in bundled.entries.values():
        assert all(f in bundled.entries for f in entry.follow_ups), entry.id
        assert all(d in bundled.demos for d in entry.demos), entry.id
    for demo in bundled.demos.values():
        assert all(q in bundled.entries for q in demo.question_ids), demo.name


def test_every_demo_is_linked_from_an_entry(bundled):
    linked = {d for e in bundled.entries.values() for d in e.demos}
    assert set(bundled.demos) <= linked


GOOD = """
  - id: "8.3.62"
    prompt: "Why should two linear layers not be stacked directly?"
    difficulty: M
    topics: [architecture]
    reference_answer: "{answer}"
    key_points:
      - {{text: "Two linear maps compose into one linear map.", required: true}}
      - {{text: "Stacking adds parameters without capacity.", required: true}}
      - {{text: "A non-linearity between them is needed.", required: false}}
    misconceptions: [{{claim: "Two linear layers can learn curved boundaries.", correction: "Their composition is still linear."}}]
    hints: ["Write out the composition.", "What kind of function is W2 W1 x?"]
    follow_ups: ["8.3.63"]
    sources: [{{title: "chapter", url: "https://huyenchip.com/ml-interviews-book/"}}]
"""


def _write(tmp_path, name, body):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


def test_broken_files_report_every_problem_with_file_entry_and_field(tmp_path):
    answer = " ".join(["word"] * 90)
    _write(tmp_path, "a.yaml", "entries:" + GOOD.format(answer=answer))
    # duplicate id, unknown difficulty, unknown topic, missing field, dangling follow-up and demo
    _write(tmp_path, "b.yaml", "entries:" + GOOD.format(answer=answer) + """
  - id: "8.3.63"
    prompt: "Can a ReLU network act as a linear classifier?"
    difficulty: X
    topics: [astrology]
    reference_answer: "too short"
    key_points: [{text: "One.", required: true}, {text: "Two key points.", required: true}, {text: "Three key points."}]
    hints: ["First hint here.", "Second hint here."]
    follow_ups: ["8.3.99"]
    demos: [no_such_demo]
    sources: [{title: "chapter", url: "https://huyenchip.com/ml-interviews-book/"}]
""")
    _write(tmp_path, "c.yaml", "entries:\n  - id: [unclosed\n")
    kb = load_knowledge(tmp_path, require_all=False)
    found = {(p.file.split("/")[-1], p.entry, p.field) for p in kb.problems}
    assert ("b.yaml", "8.3.62", "id") in found  # duplicate
    assert ("b.yaml", "8.3.63", "difficulty") in found
    assert ("b.yaml", "8.3.63", "topics.0") in found
    assert ("b.yaml", "8.3.63", "reference_answer") in found
    assert ("b.yaml", "8.3.63", "misconceptions") in found  # missing field
    assert ("b.yaml", "8.3.63", "key_points.0.text") in found  # too short
    assert ("b.yaml", "8.3.63", "key_points.2.required") in found  # required/bonus not said
    assert any(f == "c.yaml" and "malformed YAML" in p.message
               for p in kb.problems for f in [p.file.split("/")[-1]])
    # the valid entry still loads, and its follow-up to the broken entry is reported
    assert "8.3.62" in kb.entries
    assert ("a.yaml", "8.3.62", "follow_ups.0") in found


def test_every_entry_says_which_key_points_are_required(bundled):
    for entry in bundled.entries.values():
        required = len(entry.required_key_points)
        assert required >= 1, entry.id
        if entry.difficulty.value == "E":
            assert 3 <= required <= 4, entry.id
        else:
            assert required >= 2, entry.id
        assert entry.key_point_texts == [kp.text for kp in entry.key_points]


def test_required_key_points_are_checked(tmp_path):
    answer = " ".join(["word"] * 90)
    # an easy entry needs 3-4 required points; a plain string is not a key point
    body = GOOD.format(answer=answer).replace("difficulty: M", "difficulty: E")
    body = body.replace('{text: "Two linear maps compose into one linear map.", required: true}',
                        '"Two linear maps compose into one linear map."')
    _write(tmp_path, "a.yaml", "entries:" + body)
    kb = load_knowledge(tmp_path, require_all=False)
    problems = {(p.entry, p.field): p.message for p in kb.problems}
    assert "mapping" in problems[("8.3.62", "key_points.0")]
    _write(tmp_path, "a.yaml", "entries:" + GOOD.format(answer=answer).replace("difficulty: M", "difficulty: E"))
    kb = load_knowledge(tmp_path, require_all=False)
    problems = {(p.entry, p.field): p.message for p in kb.problems}
    assert "3 key points must be required for difficulty E; 2 are" in problems[("8.3.62", "key_points")]


def test_dangling_follow_up_and_demo_are_reported(tmp_path):
    answer = " ".join(["word"] * 90)
    body = GOOD.format(answer=answer).replace('["8.3.63"]', '["8.3.99"]')
    body = body.replace("    sources:", "    demos: [no_such_demo]\n    sources:")
    _write(tmp_path, "a.yaml", "entries:" + body)
    kb = load_knowledge(tmp_path, require_all=False)
    messages = {(p.entry, p.field): p.message for p in kb.problems}
    assert messages[("8.3.62", "follow_ups.0")] == "unknown id '8.3.99'"
    assert messages[("8.3.62", "demos.0")] == "unknown demo 'no_such_demo'"


def test_kb_validate_command(tmp_path, capsys):
    assert main(["kb", "validate", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {"entries": len(load_knowledge().entries), "problems": []}
    assert out["entries"] >= 58
    _write(tmp_path, "bad.yaml", "entries:\n  - id: nope\n")
    assert main(["kb", "validate", "--json", "--dir", str(tmp_path)]) == 2
    out = json.loads(capsys.readouterr().out)
    assert out["entries"] == 0 and out["problems"]
    assert all({"file", "entry", "field", "message"} <= set(p) for p in out["problems"])
