#!/usr/bin/env python3
"""Runs the SQL examples of the documentation and checks the output they show.

usage: python3 tests/docs_runner.py --python .venv/duckdb-1.5.6/bin/python \\
           --extension build/prefroute.duckdb_extension [PAGE.md ...]
       python3 tests/docs_runner.py --self-test --python .venv/duckdb-1.5.6/bin/python
       python3 tests/docs_runner.py --list [PAGE.md ...]

Without pages it runs README.md and every docs/**/*.md, so a new page is picked up by being there.
Run it from anywhere; paths in the examples are relative to the repository root.

What runs. Every fenced block whose info string starts with `sql` (```sql). Other blocks (sh, python,
json, text, ...) are prose. Each page runs in its own host subprocess (`--python`, a Python with the
`duckdb` package) on ONE connection, its blocks in page order, so a block sees the tables and files
the blocks above it made, exactly as a reader who copies them in order into one CLI session. Pages
never see each other's files: each page must stand on its own.

The working directory is a fresh scratch directory per page whose entries are links to the
repository's top-level entries (examples/, build/, .cache/, assets/, tests/, ...): a path such as
'examples/data/llmbar.parquet' reads what it reads from the repository root, and a file an example
writes ('seed.parquet') lands in the scratch directory, not in the repository.

Loading the extension (the convention). The page's connection loads the build under test
(`--extension`; `make docs-test` passes the debug build) before its first block. An example that
shows a LOAD of prefroute -- `LOAD prefroute`, or any path ending in `prefroute.duckdb_extension`,
such as the release build `LOAD 'build/release/prefroute.duckdb_extension'` a reader uses after
`make demo` -- loads that same build under test instead. So pages write the reader's LOAD where a
session starts (README, docs/workflow.md), and reference pages may leave it out.

CLI dot commands (`.mode box`, `.print ...`) belong to the DuckDB CLI, not to SQL: a line starting
with `.` is left out when the block runs.

Info-string attributes of a ```sql block (anything else is an error, so a typo cannot skip a block):
  skip="reason"      do not run the block; the reason is required and is printed in the report.
                     For a block that needs an LLM server, the embedding model, a file only the
                     reader has, or a Label Studio export.
  error="text"       the block's LAST statement must fail with a message containing `text`
                     (the statements before it must succeed).

Shown output. A ```output block right after a ```sql block (blank lines between are allowed) is the
result of that block's LAST statement, as a table: a header line of column names, then one line per
row, cells separated by `│` or `|`, as the DuckDB CLI prints it (`.mode box`, `.mode markdown`, or the
default duckbox, whose line of column types under the header is ignored); border lines (`┌─┬┐`,
`|---|`) are ignored. A duckbox that elides rows (`…`) cannot be compared: show a smaller result. Cells are compared as text, except that every number in an expected
cell is compared to the precision it is printed with: `0.775` accepts 0.7745 ... 0.7755 (the rule of
tests/sqllogic.py), while an integer is exact (`12` accepts only 12). Strings show as themselves, NULL as `NULL`, lists as
`[a, b]`, booleans as `true`/`false`. `output rowsort` compares the rows in sorted order (for a
result without ORDER BY). On a mismatch the report prints the actual table in this format, ready to
paste. An output block that follows no ```sql block, or a skipped one, or one that must fail, is an
error.

An SQL error stops the page (the blocks after it would run in a broken session); an output that
differs does not, so one run reports every difference of a page.

Links. Every relative link of a page (`[text](other.md#anchor)`, `![img](x.png)`, `(#anchor)`) must
point at a file of the repository and, for a `#anchor` into a Markdown page, at one of its headings
(GitHub's rule: lower case, punctuation dropped, spaces to hyphens, `-1`, `-2` for repeats). Links in
code are not links; http(s) links are not checked (nothing is fetched).

The report names every failure as `PAGE:LINE` (the line of the block, and of the statement within
it), lists every skipped block with its reason, and ends with one line:
`docs: N pages, B blocks run (S statements), O outputs compared, K skipped, F failed`.
The exit status is non-zero when anything failed or nothing ran.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import glob
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from decimal import Decimal, InvalidOperation

import sqllogic  # tests/sqllogic.py: value rendering, events, indenting, the host's version
from sqllogic import emit, host_version, indent

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SQL_ATTRIBUTES = ("skip", "error")
OUTPUT_ATTRIBUTES = ("rowsort",)


# --------------------------------------------------------------------------------------------
# Extracting the blocks of a page (both sides: the parent lists and validates, the worker runs).


class PageError(Exception):
    """A page whose blocks are malformed (an unknown attribute, a skip without a reason, ...)."""


class Block:
    def __init__(self, line: int, lang: str, attrs: dict, text: str):
        self.line, self.lang, self.attrs, self.text = line, lang, attrs, text
        self.output: Block | None = None  # the ```output block that follows a ```sql block

    def to_json(self) -> dict:
        return {"line": self.line, "attrs": self.attrs, "text": self.text,
                "output": None if self.output is None else
                {"line": self.output.line, "attrs": self.output.attrs, "text": self.output.text}}


FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


def parse_info(info: str, where: str) -> tuple[str, dict]:
    """The language and the attributes of an info string (`sql skip="needs a server"`)."""
    try:
        words = shlex.split(info)
    except ValueError as e:
        raise PageError(f"{where}: cannot read the info string {info!r}: {e}")
    if not words:
        return "", {}
    attrs = {}
    for w in words[1:]:
        key, eq, value = w.partition("=")
        attrs[key] = value if eq else True
    return words[0].lower(), attrs


def extract(text: str, path: str) -> list[Block]:
    """The ```sql blocks of a page, each with the ```output block that follows it."""
    lines = text.split("\n")
    blocks: list[Block] = []
    i = 0
    last: Block | None = None  # the last sql block, while only blank lines follow it
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            if lines[i].strip():
                last = None
            i += 1
            continue
        indent, fence, info = m.group("indent"), m.group("fence"), m.group("info").strip()
        start = i + 1  # 1-based line of the opening fence
        body = []
        i += 1
        while i < len(lines):
            close = FENCE.match(lines[i])
            if close and close.group("fence")[0] == fence[0] and len(close.group("fence")) >= len(fence) \
                    and not close.group("info").strip():
                break
            ln = lines[i]
            body.append(ln[len(indent):] if ln.startswith(indent) else ln.lstrip())
            i += 1
        else:
            raise PageError(f"{path}:{start}: the block is never closed")
        i += 1
        where = f"{path}:{start}"
        lang, attrs = parse_info(info, where)
        block = Block(start, lang, attrs, "\n".join(body))
        if lang == "sql":
            unknown = [k for k in attrs if k not in SQL_ATTRIBUTES]
            if unknown:
                raise PageError(f"{where}: unknown attribute {unknown[0]!r} of a sql block "
                                f"(known: {', '.join(SQL_ATTRIBUTES)})")
            for key in ("skip", "error"):
                if key in attrs and (attrs[key] is True or not str(attrs[key]).strip()):
                    raise PageError(f'{where}: {key} needs a reason or text: {key}="..."')
            blocks.append(block)
            last = block
        elif lang == "output":
            unknown = [k for k in attrs if k not in OUTPUT_ATTRIBUTES]
            if unknown:
                raise PageError(f"{where}: unknown attribute {unknown[0]!r} of an output block "
                                f"(known: {', '.join(OUTPUT_ATTRIBUTES)})")
            if last is None or last.output is not None:
                raise PageError(f"{where}: an output block must follow a sql block (only blank lines between)")
            if "skip" in last.attrs:
                raise PageError(f"{where}: an output block follows a skipped sql block, so it would never "
                                f"be checked; show it as ```text")
            if "error" in last.attrs:
                raise PageError(f"{where}: a block that must fail has no output to show")
            last.output = block
            last = None
        else:
            last = None
    return blocks


def statements(block: Block, split) -> list[tuple[int, str]]:
    """The block's statements with their page lines, dot-command lines left out."""
    lines = block.text.split("\n")
    kept = ["" if ln.lstrip().startswith(".") else ln for ln in lines]
    sql = "\n".join(kept)
    out = []
    pos = 0
    for stmt in split(sql):
        text = stmt.strip().rstrip(";").strip()
        code = [ln for ln in text.split("\n") if ln.strip() and not ln.strip().startswith("--")]
        if not code:
            continue
        probe = code[0].strip()[:60]
        found = sql.find(probe, pos)
        if found < 0:
            found = pos
        else:
            pos = found + len(probe)
        out.append((block.line + 1 + sql.count("\n", 0, found), text))
    return out


LOAD_PREFROUTE = re.compile(r"LOAD\s+(?:prefroute|'[^']*prefroute\.duckdb_extension'|\"[^\"]*prefroute\.duckdb_extension\")",
                            re.IGNORECASE)


# --------------------------------------------------------------------------------------------
# Rendering and comparing results.


def render(v) -> str:
    """A value from duckdb as the shown output writes it (sqllogic's rendering; an empty string is empty)."""
    return sqllogic.render(v, empty="")


BORDER = re.compile(r"^[\s─━┌┐└┘├┤┬┴┼│|+\-=:╞╡╪═]*$")
NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def parse_table(text: str) -> list[list[str]]:
    """The header and rows of a shown output (box, duckbox or markdown).

    The header is the first line with cells; lines between it and the border under it are dropped
    (the CLI's default duckbox mode prints the column types there)."""
    header, rows, under_header = None, [], False
    for ln in text.split("\n"):
        s = ln.strip()
        if not s:
            continue
        if BORDER.match(s):
            under_header = header is not None
            continue
        if s[0] in "│|":
            s = s[1:]
        if s and s[-1] in "│|":
            s = s[:-1]
        cells = [c.strip() for c in re.split(r"│|\|", s)]
        if header is None:
            header = cells
        elif under_header:
            rows.append(cells)
    return [header] + rows if header is not None else []


def format_table(rows: list[list[str]]) -> str:
    """Rows (header first) as a box table, the format the output blocks use."""
    if not rows:
        return "(no columns)"
    widths = [max(len(r[c]) if c < len(r) else 0 for r in rows) for c in range(len(rows[0]))]
    def line(l, m, r):
        return l + m.join("─" * (w + 2) for w in widths) + r
    def row(r):
        return "│" + "│".join(f" {r[c] if c < len(r) else '':<{widths[c]}} " for c in range(len(widths))) + "│"
    out = [line("┌", "┬", "┐"), row(rows[0]), line("├", "┼", "┤")]
    out += [row(r) for r in rows[1:]]
    out.append(line("└", "┴", "┘"))
    return "\n".join(out)


def number_matches(actual: str, expected: str) -> bool:
    """An actual number against one printed with d decimals: |a − e| ≤ 0.5·10^−d."""
    if actual == expected:
        return True
    try:
        a, e = float(actual), float(expected)
        exponent = Decimal(expected).as_tuple().exponent
    except (ValueError, InvalidOperation):
        return False
    decimals = -exponent if isinstance(exponent, int) else 0
    if decimals <= 0:
        return a == e
    return abs(a - e) <= 0.5 * 10.0 ** (-decimals) * (1 + 1e-9) + 1e-15


def cell_matches(actual: str, expected: str) -> bool:
    """Text equal outside the numbers, each number equal to the precision it is printed with."""
    if actual == expected:
        return True
    a_nums, e_nums = NUMBER.findall(actual), NUMBER.findall(expected)
    if len(a_nums) != len(e_nums) or NUMBER.sub("#", actual) != NUMBER.sub("#", expected):
        return False
    return all(number_matches(a, e) for a, e in zip(a_nums, e_nums))


def compare(columns: list[str], rows: list[list[str]], expected_text: str, rowsort: bool) -> str | None:
    """None when the result is the shown output, else what differs."""
    expected = parse_table(expected_text)
    actual = [columns] + rows
    if not expected:
        return "the output block is empty"
    problem = None
    if expected[0] != columns:
        problem = f"columns differ: shown {expected[0]}, got {columns}"
    else:
        e_rows, a_rows = expected[1:], rows
        if rowsort:
            e_rows, a_rows = sorted(e_rows), sorted(a_rows)
        if len(e_rows) != len(a_rows):
            problem = f"shown {len(e_rows)} row(s), got {len(a_rows)}"
        else:
            for r, (a_row, e_row) in enumerate(zip(a_rows, e_rows)):
                if len(e_row) != len(a_row):
                    problem = f"row {r + 1}: shown {len(e_row)} cell(s), got {len(a_row)}"
                    break
                bad = next((c for c, (a, e) in enumerate(zip(a_row, e_row)) if not cell_matches(a, e)), None)
                if bad is not None:
                    problem = (f"row {r + 1}, column {columns[bad]!r}: shown {e_row[bad]!r}, "
                               f"got {a_row[bad]!r}")
                    break
    if problem is None:
        return None
    return problem + "\n  actual output:\n" + indent(format_table(actual), "    ")


# --------------------------------------------------------------------------------------------
# Links between pages.

LINK = re.compile(r"\]\(([^()\s]+)\)")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")


def slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def prose_lines(text: str):
    """(line number, line) of the lines outside fenced blocks, inline code removed."""
    fence = None
    for n, ln in enumerate(text.split("\n"), 1):
        m = FENCE.match(ln)
        if m:
            mark = m.group("fence")
            if fence is None:
                fence = mark
                continue
            if mark[0] == fence[0] and len(mark) >= len(fence) and not m.group("info").strip():
                fence = None
                continue
        if fence is None:
            yield n, re.sub(r"`+[^`]*`+", "", ln)


def anchors(path: str) -> set[str]:
    """The anchors of a Markdown page's headings (outside fenced blocks)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    seen: dict[str, int] = {}
    out = set()
    fence = None
    for ln in text.split("\n"):
        m = FENCE.match(ln)
        if m:
            mark = m.group("fence")
            if fence is None:
                fence = mark
            elif mark[0] == fence[0] and len(mark) >= len(fence) and not m.group("info").strip():
                fence = None
            continue
        h = HEADING.match(ln) if fence is None else None
        if h:
            base = slug(h.group(2))
            k = seen.get(base, 0)
            seen[base] = k + 1
            out.add(base if k == 0 else f"{base}-{k}")
    return out


def check_links(page: str, rel: str, text: str, repo: str) -> list[str]:
    """Broken relative links of a page, as `PAGE:LINE: ...`."""
    problems = []
    here = os.path.dirname(page)
    for n, ln in prose_lines(text):
        for target in LINK.findall(ln):
            if re.match(r"[a-z]+:", target):
                continue  # http(s), mailto: not checked
            path, _, anchor = target.partition("#")
            dest = os.path.normpath(os.path.join(here, path)) if path else page
            if not (dest == repo or dest.startswith(repo + os.sep)) or not os.path.exists(dest):
                problems.append(f"{rel}:{n}: broken link {target!r}: no file {os.path.relpath(dest, repo)}")
                continue
            if anchor and dest.endswith(".md") and anchor not in anchors(dest):
                problems.append(f"{rel}:{n}: broken link {target!r}: {os.path.relpath(dest, repo)} has no "
                                f"heading with the anchor #{anchor}")
    return problems


# --------------------------------------------------------------------------------------------
# The worker: runs one page's blocks on one connection inside the host, one JSON event per line.


def worker(blocks_file: str, extension: str | None) -> int:
    with open(blocks_file, encoding="utf-8") as f:
        blocks = json.load(f)
    import duckdb  # the host under test

    def split(sql: str) -> list[str]:
        try:
            return [s.query for s in duckdb.extract_statements(sql)]
        except Exception:  # noqa: BLE001 - run it whole: the parse error is reported when it runs
            return [sql]

    con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
    load = None
    if extension:
        load = "LOAD '" + extension.replace("'", "''") + "'"
        try:
            con.execute(load)
        except Exception as e:  # noqa: BLE001
            emit(event="fail", line=0, stmt_line=0, message=f"cannot load the extension {extension}: {e}")
            return 1
    for b in blocks:
        block = Block(b["line"], "sql", b["attrs"], b["text"])
        emit(event="start", line=block.line)
        stmts = statements(block, split)
        if not stmts:
            emit(event="fail", line=block.line, stmt_line=block.line, message="the block has no SQL")
            return 1
        columns, rows = [], []
        for k, (stmt_line, sql) in enumerate(stmts):
            if LOAD_PREFROUTE.fullmatch(sql):
                if not load:
                    continue  # the self-test has no extension to load
                sql = load
            must_fail = "error" in block.attrs and k == len(stmts) - 1
            try:
                cur = con.execute(sql)
                # Every statement has a result in DuckDB (a DDL's is a count); read it all, since
                # some errors only surface while the result is consumed.
                columns = [d[0] for d in cur.description or []]
                rows = [[render(v) for v in row] for row in cur.fetchall()] if cur.description else []
            except Exception as e:  # noqa: BLE001 - any host error is the block's failure
                message = str(e)
                if must_fail and block.attrs["error"] in message:
                    break
                if must_fail:
                    emit(event="fail", line=block.line, stmt_line=stmt_line,
                         message=f"the error message does not contain {block.attrs['error']!r}:\n  {message}")
                else:
                    emit(event="fail", line=block.line, stmt_line=stmt_line, message=f"error: {message}")
                return 1
            if must_fail:
                emit(event="fail", line=block.line, stmt_line=stmt_line,
                     message=f"expected an error containing {block.attrs['error']!r}, but the statement succeeded")
                return 1
        outcome = {"statements": len(stmts), "compared": False}
        if b["output"] is not None:
            out = b["output"]
            problem = compare(columns, rows, out["text"], "rowsort" in out["attrs"])
            outcome["compared"] = True
            if problem:
                # The session is intact: report the difference and go on, so one run shows them all.
                emit(event="fail", line=block.line, stmt_line=out["line"],
                     message=f"the output differs from the one shown at line {out['line']}: {problem}")
        emit(event="block", line=block.line, **outcome)
    emit(event="done")
    return 0


# --------------------------------------------------------------------------------------------
# The parent: one host subprocess per page, in a scratch directory that mirrors the repository root.


class PageResult:
    def __init__(self, page: str):
        self.page = page
        self.run = self.statements = self.compared = 0
        self.skipped: list[tuple[int, str]] = []
        self.failure: str | None = None
        self.failures = 0  # how many things failed (outputs that differ, an error, a crash, ...)
        self.seconds = 0.0


def scratch_root(repo: str) -> str:
    """A fresh directory whose entries link to the repository's top-level entries."""
    root = tempfile.mkdtemp(prefix="docs-runner-")
    for name in os.listdir(repo):
        if name == ".git":
            continue
        os.symlink(os.path.join(repo, name), os.path.join(root, name))
    return root


def run_page(python: str, extension: str | None, page: str, repo: str, timeout: float) -> PageResult:
    result = PageResult(page)
    rel = os.path.relpath(page, repo) if page.startswith(repo + os.sep) else page
    result.page = rel
    try:
        with open(page, encoding="utf-8") as f:
            text = f.read()
        blocks = extract(text, rel)
    except (OSError, PageError) as e:
        result.failure = f"FAIL  {e}"
        return result
    broken = check_links(page, rel, text, repo)
    if broken:
        result.failure = "FAIL  " + "\n      ".join(broken)
        return result
    result.skipped = [(b.line, b.attrs["skip"]) for b in blocks if "skip" in b.attrs]
    to_run = [b for b in blocks if "skip" not in b.attrs]
    if not to_run:
        return result
    root = scratch_root(repo)
    start = time.monotonic()
    try:
        blocks_file = os.path.join(root, ".docs-runner-blocks.json")
        with open(blocks_file, "w", encoding="utf-8") as f:
            json.dump([b.to_json() for b in to_run], f)
        # The host runs in the scratch directory: a relative interpreter path is made absolute (not
        # resolved: a venv's python is a link that must stay one).
        host = os.path.abspath(python) if os.sep in python else python
        cmd = [host, os.path.abspath(__file__), "--worker", blocks_file]
        ext = os.path.abspath(extension) if extension else None
        if ext:
            cmd += ["--extension", ext]
        # A reader's environment is not the suite's: no model, no LLM endpoint or key by default.
        env = {k: v for k, v in os.environ.items()
               if k not in ("PREFROUTE_MODEL_DIR", "PREFROUTE_PROGRESS", "OPENAI_API_KEY")
               and not k.startswith("PREFROUTE_LLM_")}
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=root)
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
            last = [ev for ev in events(out) if ev.get("event") == "start"]
            at = f":{last[-1]['line']}" if last else ""
            result.failure = f"FAIL  {rel}{at}: timed out after {timeout:g} s"
            return result
        except OSError as e:
            result.failure = f"FAIL  {rel}: cannot start the host {python}: {e}"
            return result
    finally:
        result.seconds = time.monotonic() - start
        shutil.rmtree(root, ignore_errors=True)
    evs = events(proc.stdout)
    for ev in evs:
        if ev.get("event") == "block":
            result.run += 1
            result.statements += ev["statements"]
            result.compared += ev["compared"]
    fails = [ev for ev in evs if ev.get("event") == "fail"]
    stderr_tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
    if fails:
        reports = []
        for fail in fails:
            block = next((b for b in to_run if b.line == fail["line"]), None)
            where = f"{rel}:{fail['line']}"
            if fail.get("stmt_line") and fail["stmt_line"] != fail["line"]:
                where += f" (line {fail['stmt_line']})"
            report = f"FAIL  {where}: {fail['message']}"
            if block is not None:
                report += "\n  the block:\n" + indent(block.text, "    ")
            reports.append(report)
        result.failure = "\n".join(reports)
        result.failures = len(reports)
    elif proc.returncode < 0:
        try:
            name = signal.Signals(-proc.returncode).name
        except ValueError:
            name = f"signal {-proc.returncode}"
        last = [ev for ev in evs if ev.get("event") == "start"]
        at = f":{last[-1]['line']}" if last else ""
        result.failure = f"FAIL  {rel}{at}: the host crashed ({name})\n" + indent(stderr_tail)
    elif proc.returncode != 0 or not any(ev.get("event") == "done" for ev in evs):
        result.failure = f"FAIL  {rel}: the host exited with status {proc.returncode}\n" + indent(stderr_tail)
    return result


def events(stdout: str) -> list[dict]:
    out = []
    for ln in stdout.splitlines():
        try:
            out.append(json.loads(ln))
        except ValueError:
            pass  # stray host output
    return out


def default_pages(repo: str) -> list[str]:
    pages = [os.path.join(repo, "README.md")]
    pages += sorted(glob.glob(os.path.join(repo, "docs", "**", "*.md"), recursive=True))
    return [p for p in pages if os.path.isfile(p)]


def run_pages(python: str, extension: str | None, pages: list[str], repo: str, timeout: float,
              jobs: int, quiet: bool = False) -> list[PageResult]:
    results = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(run_page, python, extension, p, repo, timeout) for p in pages]
        for fut in futures:  # in page order, whatever order they finish in
            r = fut.result()
            results.append(r)
            if quiet:
                continue
            state = "FAIL" if r.failure else "ok  "
            print(f"{state}  {r.page}: {r.run} block(s) run, {r.compared} output(s) compared, "
                  f"{len(r.skipped)} skipped ({r.seconds:.1f} s)", flush=True)
            if r.failure:
                print(indent(r.failure, "  "), flush=True)
    return results


def summary(results: list[PageResult]) -> tuple[str, int]:
    run = sum(r.run for r in results)
    stmts = sum(r.statements for r in results)
    compared = sum(r.compared for r in results)
    skipped = [(r.page, line, why) for r in results for line, why in r.skipped]
    failed = sum(max(r.failures, 1) for r in results if r.failure)
    lines = []
    if skipped:
        lines.append(f"skipped ({len(skipped)}):")
        lines += [f"  SKIP  {page}:{line}  {why}" for page, line, why in skipped]
    lines.append(f"docs: {len(results)} pages, {run} blocks run ({stmts} statements), {compared} outputs "
                 f"compared, {len(skipped)} skipped, {failed} failed")
    return "\n".join(lines), (1 if failed or run == 0 else 0)


# --------------------------------------------------------------------------------------------
# Self-test: the runner must be able to fail.

SELF_TESTS = {
    # name: (page text, must pass?, text the report must contain)
    "pass": ("""# A page
```sql
LOAD 'build/release/prefroute.duckdb_extension';
.mode box
CREATE TABLE t AS SELECT * FROM (VALUES (1, 'x', 0.7747, [1, 2]), (2, NULL, 12.0, [])) v(a, b, c, d);
SELECT a, b, c, d FROM t ORDER BY a;
```

```output
┌───┬──────┬───────┬────────┐
│ a │ b    │ c     │ d      │
├───┼──────┼───────┼────────┤
│ 1 │ x    │ 0.775 │ [1, 2] │
│ 2 │ NULL │ 12.0  │ []     │
└───┴──────┴───────┴────────┘
```

The table persists on the page's connection, and markdown tables work too:

```sql
SELECT count(*) AS n, round(avg(c), 2) AS mean FROM t
```
```output rowsort
| n | mean |
|---|---|
| 2 | 6.39 |
```

```sql skip="needs a llama.cpp server"
SELECT * FROM judge_pairs('x.parquet');
```

```sql error="no_such_table"
SELECT * FROM no_such_table;
```
""", True, "3 block(s) run"),
    "pass_duckbox": ("```sql\nSELECT 'x' AS name, 339 AS pairs\n```\n```output\n┌─────────┬───────┐\n"
                     "│  name   │ pairs │\n│ varchar │ int32 │\n├─────────┼───────┤\n│ x       │   339 │\n"
                     "└─────────┴───────┘\n```\n", True, "1 block(s) run, 1 compared"),
    "fail_wrong_value": ("```sql\nSELECT 1 AS x\n```\n```output\n| x |\n|---|\n| 2 |\n```\n", False,
                         "column 'x': shown '2', got '1'"),
    "fail_both_outputs": ("```sql\nSELECT 1 AS x\n```\n```output\n| x |\n|---|\n| 2 |\n```\n"
                          "```sql\nSELECT 3 AS y\n```\n```output\n| y |\n|---|\n| 4 |\n```\n", False,
                          "page.md:9 (line 12): the output differs"),
    "fail_precision": ("```sql\nSELECT 0.7747::DOUBLE AS x\n```\n```output\n| x |\n|---|\n| 0.774 |\n```\n",
                       False, "shown '0.774'"),
    "fail_row_count": ("```sql\nSELECT 1 AS x UNION ALL SELECT 2\n```\n```output\n| x |\n|---|\n| 1 |\n```\n",
                       False, "shown 1 row(s), got 2"),
    "fail_columns": ("```sql\nSELECT 1 AS y\n```\n```output\n| x |\n|---|\n| 1 |\n```\n", False,
                     "columns differ"),
    "fail_error": ("text\n\n```sql\nSELECT 1;\nSELECT * FROM no_such_table;\n```\n", False,
                   "page.md:3 (line 5): error: Catalog Error"),
    "fail_error_after_load": ("```sql\nCREATE TABLE t(a INT);\nINSERT INTO t VALUES ('x');\n```\n", False,
                              "(line 3): error:"),
    "fail_expected_error": ('```sql error="nope"\nSELECT 1\n```\n', False, "but the statement succeeded"),
    "fail_skip_without_reason": ("```sql skip\nSELECT 1\n```\n", False, 'skip needs a reason'),
    "fail_skip_empty_reason": ('```sql skip=""\nSELECT 1\n```\n', False, 'skip needs a reason'),
    "fail_unknown_attribute": ('```sql skp="typo"\nSELECT 1\n```\n', False, "unknown attribute 'skp'"),
    "fail_orphan_output": ("```output\n| x |\n```\n", False, "must follow a sql block"),
    "fail_output_after_skip": ('```sql skip="server"\nSELECT 1\n```\n```output\n| x |\n```\n', False,
                               "follows a skipped sql block"),
    "fail_unclosed": ("```sql\nSELECT 1\n", False, "never closed"),
    "fail_broken_link": ("See [the other page](other.md).\n", False, "page.md:1: broken link 'other.md'"),
    "fail_broken_anchor": ("# Title\n\nSee [below](#no-such-heading).\n", False, "no heading with the anchor"),
    "pass_links": ("# A `code` title: here\n\n[up](#a-code-title-here), [self](page.md), `[not](a link)`\n"
                   "```sql\nSELECT 1\n```\n", True, "1 block(s) run"),
}


def self_test(python: str) -> int:
    tmp = tempfile.mkdtemp(prefix="docs-runner-selftest-")
    problems = []
    try:
        for name, (text, must_pass, needle) in SELF_TESTS.items():
            page = os.path.join(tmp, "page.md")
            with open(page, "w", encoding="utf-8") as f:
                f.write(text)
            r = run_page(python, None, page, tmp, 120)
            report = r.failure or f"{r.run} block(s) run, {r.compared} compared, skipped {r.skipped}"
            if (r.failure is None) != must_pass or needle not in report:
                problems.append(f"{name}: expected {'a pass' if must_pass else 'a failure'} mentioning "
                                f"{needle!r}, got:\n{indent(report)}")
            elif name == "pass" and (r.compared != 2 or r.skipped != [(29, "needs a llama.cpp server")]):
                problems.append(f"{name}: expected 2 outputs compared and the skip at line 29 with its "
                                f"reason, got {r.compared} and {r.skipped}")
        # A host that dies by a signal is reported with the signal's name and the block's line.
        fake = os.path.join(tmp, "crashing-host")
        with open(fake, "w") as f:
            f.write("#!/bin/sh\necho '{\"event\": \"start\", \"line\": 1}'\nkill -ABRT $$\n")
        os.chmod(fake, 0o755)
        page = os.path.join(tmp, "page.md")
        with open(page, "w", encoding="utf-8") as f:
            f.write("```sql\nSELECT 1\n```\n")
        r = run_page(fake, None, page, tmp, 60)
        if not r.failure or "SIGABRT" not in r.failure or "page.md:1" not in r.failure:
            problems.append(f"crash: expected a SIGABRT failure at page.md:1, got {r.failure}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for p in problems:
        print("SELF-TEST FAILURE: " + p)
    total = len(SELF_TESTS) + 1
    print(f"docs runner self-test: {total - len(problems)} passed, {len(problems)} failed")
    return 1 if problems else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("pages", nargs="*", help="Markdown pages (default: README.md and docs/**/*.md)")
    ap.add_argument("--python", default=sys.executable, help="host interpreter with the duckdb package")
    ap.add_argument("--extension", default=os.environ.get("PREFROUTE_EXTENSION"),
                    help="the build under test (default: env PREFROUTE_EXTENSION)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per page (default 900)")
    ap.add_argument("-j", "--jobs", type=int, default=1, help="pages run in parallel (default 1)")
    ap.add_argument("--self-test", action="store_true", help="check that the runner detects failures")
    ap.add_argument("--list", action="store_true",
                    help="list the blocks of the pages and check their links, without running anything")
    ap.add_argument("--worker", metavar="BLOCKS", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args.worker, args.extension)
    if args.self_test:
        print(f"docs runner self-test, host duckdb {host_version(args.python, 'docs_runner')}")
        return self_test(args.python)
    pages = [os.path.abspath(p) for p in args.pages] or default_pages(REPO)
    if args.list:
        bad = 0
        for p in pages:
            rel = os.path.relpath(p, REPO)
            try:
                with open(p, encoding="utf-8") as f:
                    text = f.read()
                blocks = extract(text, rel)
            except (OSError, PageError) as e:
                print(f"FAIL  {e}")
                bad += 1
                continue
            for problem in check_links(p, rel, text, REPO):
                print(f"FAIL  {problem}")
                bad += 1
            for b in blocks:
                what = f"skip: {b.attrs['skip']}" if "skip" in b.attrs else \
                    ("runs, output shown" if b.output else "runs")
                print(f"{rel}:{b.line}  {what}")
        return 1 if bad else 0
    if not args.extension:
        ap.error("give --extension (the build under test), or set PREFROUTE_EXTENSION")
    if not os.path.isfile(args.extension):
        raise SystemExit(f"docs_runner: no extension at {args.extension} (run `make build`)")
    print(f"host: duckdb {host_version(args.python, 'docs_runner')} ({args.python}); extension: {args.extension}", flush=True)
    results = run_pages(args.python, args.extension, pages, REPO, args.timeout, args.jobs)
    text, status = summary(results)
    print(text)
    return status


if __name__ == "__main__":
    sys.exit(main())
