"""Finding the code in a free-text answer: fenced blocks, else the lines or prose clauses that parse."""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Iterator

_BULLET = re.compile(r"^\s*(?:[-*•+]|\d+[.)])\s+")
_ASSIGN_START = re.compile(r"(?<![\w.])[A-Za-z_]\w*(?:\[[^\]]*\])?\s*[-+*/@]?=(?!=)")
_CODE_LIKE = re.compile(r"=|@|\bnp\.|\.T\b|\w\[|\bdef\b|\breturn\b")
_LABEL = re.compile(r"^[A-Za-z][\w ()'/-]{0,40}?:\s+(?=\S)")
_SENTENCE_END = re.compile(r"(?<=[^\s.])\.(?=\s|$)")
# Words that, after a statement in prose, may change what it computes ("dh = da, times the relu mask").
_OPERATION_WORDS = re.compile(r"times|multipl|divid|scal|transpos|minus|plus|\badd|subtract|zero|clip|relu|gate|"
                              r"\bsum|mean|averag|element|negat|squar|\bexp|\blog|\*|/", re.I)
_CLAUSE_SEPS = (";", " and ", " — ", " – ", " -- ")


def _parse(source: str) -> list[ast.stmt] | None:
    try:
        return ast.parse(source).body
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None


def _extract(answer: str) -> tuple[list[ast.stmt], bool]:
    """The answer's statements, and whether they are all of its code.

    Fenced blocks if there are any, else the whole text; if that does not parse, block by block (a line
    and its indented continuation), line by line, and finally clause by clause inside prose lines. Code
    after dropped text that may describe a step (unparsable code, "then multiply by the mask") is cut
    off: what comes before it can still be shown wrong, but the whole can no longer be verified."""
    parts = answer.split("```")
    text = "\n".join(_drop_language_tag(p) for p in parts[1::2]) if len(parts) > 1 else answer
    whole = _parse(textwrap.dedent(text))
    if whole is not None:
        return _clean(whole, code=True), True
    items: list[ast.stmt | str] = []  # statements, and dropped code-like text (str)
    for chunk in _chunks(text):
        stmts = _parse(textwrap.dedent("\n".join(chunk)))
        if stmts is not None:
            items += stmts
        else:
            for line in chunk:
                items += _line_items(line)
    start = next((i for i, it in enumerate(items) if not isinstance(it, str)), len(items))
    end = next((i for i in range(start, len(items)) if isinstance(items[i], str)), len(items))
    complete = not any(not isinstance(it, str) for it in items[end:])
    return _clean([it for it in items[start:end] if not isinstance(it, str)], code=False), complete


def _drop_language_tag(block: str) -> str:
    first, _, rest = block.partition("\n")
    return rest if re.fullmatch(r"[\w+.#-]*\s*", first) else block


def _chunks(text: str) -> Iterator[list[str]]:
    """Lines grouped as a line plus the more-indented lines after it (a `def` and its body)."""
    chunk: list[str] = []
    base = 0
    for raw in text.splitlines():
        line = _BULLET.sub("", raw)
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if chunk and indent > base:
            chunk.append(line)
            continue
        if chunk:
            yield chunk
        chunk, base = [line], indent
    if chunk:
        yield chunk


def _line_items(line: str) -> list[ast.stmt | str]:
    line = line.strip()
    if not line or line.startswith("#"):
        return []
    stmts = _parse(line)
    if stmts is not None:
        return list(stmts)
    pieces = re.split(r"`([^`\n]+)`", line)
    if len(pieces) > 1:  # inline code in prose: only the spans are code
        return [it for i, piece in enumerate(pieces)
                for it in (_fragment_items(piece) if i % 2 else _dropped(piece))]
    return [it for sentence in _SENTENCE_END.split(line) for it in _fragment_items(sentence)]


def _trim(text: str) -> str:
    text = text.strip()
    if not text.startswith("def "):
        text = re.split(r"→|\s->\s", text)[0]
    return text.strip().rstrip(" .,;:!?")


def _fragment_items(text: str) -> list[ast.stmt | str]:
    """Statements in one sentence of prose, e.g. "Backward: dW2 = a.T @ dout, db2 = dout.sum(0)"."""
    text = _trim(text)
    if not text:
        return []
    for candidate in (text, _LABEL.sub("", text, count=1)):
        stmts = _parse(candidate)
        if stmts is not None:
            return list(stmts)
    items: list[ast.stmt | str] = []
    for clause in _clauses(text):
        stmts = _clause_statement(clause)
        if stmts is not None:
            items += stmts
        else:
            items += _dropped(clause)
    return items


def _dropped(prose: str) -> list[ast.stmt | str]:
    """Prose left out of the code, kept as a marker when it may describe a step the code then lacks."""
    return [prose] if _CODE_LIKE.search(prose) or _OPERATION_WORDS.search(prose) else []


def _clauses(text: str) -> list[str]:
    out = []
    for clause in _split_top(text, _CLAUSE_SEPS):
        out += _split_top(clause, (",",)) if _count_assignments(clause) > 1 else [clause]
    return [c for c in out if c.strip()]


def _split_top(text: str, seps: tuple[str, ...]) -> list[str]:
    """Split at separators outside brackets."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        ch = text[i]
        depth += (ch in "([{") - (ch in ")]}")
        sep = next((s for s in seps if text.startswith(s, i)), None) if depth == 0 else None
        if sep:
            parts.append(text[start:i])
            i += len(sep)
            start = i
        else:
            i += 1
    parts.append(text[start:])
    return parts


def _count_assignments(text: str) -> int:
    depth, count = 0, 0
    for i, ch in enumerate(text):
        depth += (ch in "([{") - (ch in ")]}")
        if ch == "=" and depth == 0:
            before, after = text[i - 1:i], text[i + 1:i + 2]
            count += after != "=" and before not in ("=", "!", "<", ">")
    return count


def _clause_statement(clause: str) -> list[ast.stmt] | None:
    """The assignment a prose clause ends with ("then dW1 = X.T @ dh"), or None."""
    match = _ASSIGN_START.search(clause)
    if not match:
        return None
    candidate = _trim(clause[match.start():])
    head, _, tail = candidate.partition(", ")
    texts = [candidate, _without_paren_tail(candidate)]
    if tail and not _CODE_LIKE.search(tail) and not _OPERATION_WORDS.search(tail):
        texts.append(head)  # "dx = dout, the mask only matters in forward"
    for text in texts:
        stmts = _parse(text)
        if stmts is not None and len(stmts) == 1 and isinstance(stmts[0], (ast.Assign, ast.AugAssign)):
            stmt = stmts[0]
            if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant) and \
                    isinstance(stmt.targets[0], ast.Name):
                return []  # prose such as "the gradient where h = 0": not a statement of the code
            return stmts
    return None


def _without_paren_tail(text: str) -> str:
    """Drop a trailing parenthetical remark: "dx = dout * mask  (same mask as forward)" -> "dx = dout * mask"."""
    if not text.endswith(")"):
        return text
    start = text.rfind("(")
    if start <= 0 or not text[start - 1].isspace() or ")" in text[start:-1]:
        return text
    return text[:start].rstrip()


_TYPE_NAMES = {"float", "int", "bool", "str", "list", "tuple", "dict", "ndarray", "array", "Array", "Any", "Tensor"}


def _unlabel(s: ast.AnnAssign) -> ast.stmt | None:
    """`Forward: mask = ...` parses as an annotated assignment to `Forward`; it means `mask = ...`."""
    ann = s.annotation
    base = ann.value if isinstance(ann, ast.Subscript) else ann
    if isinstance(base, ast.Attribute) or (isinstance(base, ast.Name) and base.id in _TYPE_NAMES):
        target = s.target  # a real annotation, `x: float = 3.0`
    elif isinstance(ann, (ast.Name, ast.Subscript)) and isinstance(s.target, ast.Name):
        target = ann
    else:
        return None
    if s.value is None:
        return None
    if isinstance(target, ast.Name):
        store: ast.expr = ast.Name(id=target.id, ctx=ast.Store())
    elif isinstance(target, ast.Subscript):
        store = ast.Subscript(value=target.value, slice=target.slice, ctx=ast.Store())
    else:
        return None
    return ast.Assign(targets=[store], value=s.value, lineno=0)


def _clean(stmts: list[ast.stmt], *, code: bool) -> list[ast.stmt]:
    """Drop imports (numpy is provided), asserts, prints and expression statements without effect."""
    out = []
    for s in stmts:
        if isinstance(s, (ast.Import, ast.ImportFrom, ast.Assert, ast.Pass)):
            continue
        if isinstance(s, ast.AnnAssign):
            assign = _unlabel(s)
            if assign is not None:
                out.append(assign)
            continue
        if isinstance(s, ast.Expr):
            call = s.value
            if not code or not isinstance(call, ast.Call):
                continue
            if isinstance(call.func, ast.Name) and call.func.id == "print":
                continue
        if isinstance(s, (ast.FunctionDef, ast.For, ast.If)):
            s.body = _clean(s.body, code=True) or [ast.Pass()]
            if isinstance(s, ast.If):
                s.orelse = _clean(s.orelse, code=True)
        out.append(s)
    return out
