#!/usr/bin/env python3
"""A small runner for DuckDB's sqllogictest format (the official runner is not on PyPI).

usage: python3 tests/sqllogic.py --python .venv/duckdb-1.5.6/bin/python \\
           --extension build/prefroute.duckdb_extension tests/sql [more files or dirs]
       python3 tests/sqllogic.py --self-test --python .venv/duckdb-1.5.6/bin/python

Run it from the repository root: paths inside tests are relative to it.

Each `.test` file runs in its own subprocess of the host interpreter (`--python`, a Python with the
`duckdb` package), on ONE connection: a statement after a failing statement runs on the same
connection, exactly as a user's session would. A host that crashes (abort, segfault) fails that file
only; the report names the signal and the record that was running. The last line of the output is
exactly `N passed, M failed`; the exit status is non-zero when a file failed or none was found.

Supported records (a record ends at a blank line; `#` lines outside records are comments):

  # name: ...            header, shown in failure reports
  # group: [...]         header
  require prefroute      LOAD the extension (--extension, or env PREFROUTE_EXTENSION)
  require <other>        LOAD <other> (e.g. parquet); failure fails the file (no silent skips)
  statement ok           the SQL must succeed
  statement error        the SQL must fail; after an optional `----` line, the expected message:
                         a SUBSTRING of the host's message (lines joined with newlines), or
                         `<REGEX>:pattern` searched with re.DOTALL. Write the part that every host
                         shares: DuckDB 2.0 adds caret lines and drops candidate lists.
  query <types> [nosort|rowsort|valuesort]
                         one type letter per column (I integer, T text, R real, B boolean, anything
                         else is compared as text), then the SQL, `----`, and the expected rows:
                         values separated by ONE TAB, or one value per line.
  mode skip / mode unskip   skip the records in between
  halt                   stop reading the file

Values are rendered as DuckDB's runner renders them: NULL, `(empty)` for the empty string,
`true`/`false`, integers and decimals in plain notation, lists as `[a, b]`, structs as `{'k': v}`.

Floats (`R` columns): the expected value is compared to the precision it is WRITTEN with: it matches
when |actual − expected| ≤ 0.5 · 10^−d, where d is the number of decimals written (`0.775` accepts
0.7745 … 0.7755; `1` accepts 0.5 … 1.5; `1.5e-3` has d = 4). Write as many digits as the test
means to check. `nan`, `inf`, `-inf` match exactly.

Guard: a `statement error` whose message says a Rust callback panicked or reports an INTERNAL error
fails unless the expected message names it: prefroute must never panic on user input.

Substitutions in SQL: `__TEST_DIR__` is a fresh temporary directory per file;
`__PREFROUTE_EXTENSION__` is the extension path; `__MODEL_DIR__` is the embedding model directory
(--model-dir, default: env PREFROUTE_MODEL_DIR, else .cache/models/all-MiniLM-L6-v2 under the repository,
where `make model` puts it). A record that names `__MODEL_DIR__` fails when that directory has no
model. The hosts run without PREFROUTE_MODEL_DIR in their environment, so a test without `model_dir :=`
sees no model whatever the caller's environment.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from decimal import Decimal, InvalidOperation

SORT_MODES = ("nosort", "rowsort", "valuesort")


# --------------------------------------------------------------------------------------------
# Parsing (shared by both sides; the worker uses it to run, the parent only to validate).


class ParseError(Exception):
    pass


class Record:
    """One record of a test file: kind is require | statement_ok | statement_error | query."""

    def __init__(self, kind: str, line: int, sql: str = "", expected: list[str] | None = None,
                 types: str = "", sort: str = "nosort", arg: str = ""):
        self.kind, self.line, self.sql = kind, line, sql
        self.expected, self.types, self.sort, self.arg = expected, types, sort, arg


def parse(text: str) -> tuple[dict, list[Record]]:
    """Parses a test file into its headers and records."""
    lines = [ln.rstrip("\r") for ln in text.split("\n")]
    headers: dict = {}
    records: list[Record] = []
    skipping = False
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        stripped = line.strip()
        lineno = i + 1
        i += 1
        if not stripped:
            continue
        if stripped.startswith("#"):
            m = re.match(r"#\s*(name|group|description):\s*(.*)", stripped)
            if m:
                headers[m.group(1)] = m.group(2).strip()
            continue
        tokens = stripped.split()
        kw = tokens[0]
        if kw == "halt":
            break
        if kw == "mode":
            if len(tokens) != 2 or tokens[1] not in ("skip", "unskip"):
                raise ParseError(f"line {lineno}: expected 'mode skip' or 'mode unskip'")
            skipping = tokens[1] == "skip"
            continue
        if kw == "require":
            if len(tokens) != 2:
                raise ParseError(f"line {lineno}: expected 'require <extension>'")
            if not skipping:
                records.append(Record("require", lineno, arg=tokens[1]))
            continue
        if kw not in ("statement", "query"):
            raise ParseError(f"line {lineno}: unknown record {kw!r} (supported: statement, query, require, mode, halt)")
        # The SQL runs until a blank line or the `----` separator.
        sql_lines = []
        while i < n and lines[i].strip() and lines[i].strip() != "----":
            sql_lines.append(lines[i])
            i += 1
        expected = None
        if i < n and lines[i].strip() == "----":
            i += 1
            expected = []
            while i < n and lines[i].strip():
                expected.append(lines[i])
                i += 1
        sql = "\n".join(sql_lines).strip()
        if not sql:
            raise ParseError(f"line {lineno}: {kw} record without SQL")
        if kw == "statement":
            if len(tokens) != 2 or tokens[1] not in ("ok", "error"):
                raise ParseError(f"line {lineno}: expected 'statement ok' or 'statement error'")
            if tokens[1] == "ok" and expected is not None:
                raise ParseError(f"line {lineno}: 'statement ok' takes no '----' section (use 'query')")
            rec = Record("statement_" + tokens[1], lineno, sql, expected)
        else:
            if len(tokens) < 2 or not tokens[1].isalpha():
                raise ParseError(f"line {lineno}: expected 'query <types> [sort mode]', e.g. 'query IT rowsort'")
            sort = tokens[2] if len(tokens) > 2 else "nosort"
            if sort not in SORT_MODES or len(tokens) > 3:
                raise ParseError(f"line {lineno}: unsupported query options {' '.join(tokens[2:])!r} "
                                 f"(supported sort modes: {', '.join(SORT_MODES)}; labels are not supported)")
            if expected is None:
                raise ParseError(f"line {lineno}: query without a '----' line and expected rows")
            rec = Record("query", lineno, sql, expected, types=tokens[1].upper(), sort=sort)
        if not skipping:
            records.append(rec)
    return headers, records


# --------------------------------------------------------------------------------------------
# Rendering and comparing values (worker side).


def render(v, nested: bool = False, empty: str = "(empty)") -> str:
    """A Python value from duckdb as DuckDB's test runner prints it (`empty`: how a top-level
    empty string is written; the docs runner writes it as nothing, as the CLI shows it)."""
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        if nested:
            return "''" if v == "" else v
        return v if v != "" else empty
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(render(x, True) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"'{k}': {render(x, True)}" for k, x in v.items()) + "}"
    return str(v)


def float_matches(actual: str, expected: str) -> bool:
    """Compares an R value to the precision the expected value is written with."""
    if actual == expected:
        return True
    try:
        a, e = float(actual), float(expected)
    except ValueError:
        return False
    if math.isnan(a) or math.isnan(e) or math.isinf(a) or math.isinf(e):
        return a == e or (math.isnan(a) and math.isnan(e))
    try:
        exponent = Decimal(expected).as_tuple().exponent
    except InvalidOperation:
        return False
    decimals = -exponent if isinstance(exponent, int) else 0
    tolerance = 0.5 * 10.0 ** (-decimals)
    # The slack absorbs binary rounding of values sitting exactly on the half-way point.
    return abs(a - e) <= tolerance * (1 + 1e-9) + 1e-15


def split_expected(expected: list[str], ncols: int, nrows: int) -> list[list[str]] | str:
    """Expected lines as rows of values, or an error message."""
    if ncols > 1 and len(expected) == ncols * nrows and not any("\t" in ln for ln in expected):
        return [expected[r * ncols:(r + 1) * ncols] for r in range(nrows)]
    rows = [ln.split("\t") for ln in expected]
    for k, row in enumerate(rows):
        if len(row) != ncols:
            return (f"expected row {k + 1} has {len(row)} value(s) but the query has {ncols} column(s) "
                    f"(separate values with ONE tab): {expected[k]!r}")
    return rows


def compare(types: str, sort: str, actual: list[list[str]], expected: list[str]) -> str | None:
    """None when the query result matches, else a report."""
    ncols = len(types)
    rows = split_expected(expected, ncols, len(actual))
    if isinstance(rows, str):
        return rows + "\n" + show_rows("actual", actual)
    if sort == "rowsort":
        actual, rows = sorted(actual), sorted(rows)
    elif sort == "valuesort":
        flat_a = sorted(v for r in actual for v in r)
        flat_e = sorted(v for r in rows for v in r)
        actual = [[v] for v in flat_a]
        rows = [[v] for v in flat_e]
        types = "T"
    if len(actual) != len(rows):
        return (f"expected {len(rows)} row(s), got {len(actual)}\n"
                + show_rows("expected", rows) + "\n" + show_rows("actual", actual))
    for r, (a_row, e_row) in enumerate(zip(actual, rows)):
        for c, (a, e) in enumerate(zip(a_row, e_row)):
            ok = float_matches(a, e) if types[c] == "R" and sort != "valuesort" else a == e
            if not ok:
                return (f"row {r + 1}, column {c + 1}: expected {e!r}, got {a!r}\n"
                        + show_rows("expected", rows) + "\n" + show_rows("actual", actual))
    return None


def show_rows(title: str, rows: list[list[str]], limit: int = 20) -> str:
    out = [f"  {title} ({len(rows)} row(s)):"]
    out += ["    " + "\t".join(r) for r in rows[:limit]]
    if len(rows) > limit:
        out.append(f"    ... {len(rows) - limit} more")
    return "\n".join(out)


def error_matches(message: str, expected: list[str] | None) -> str | None:
    """None when the error message is the expected one, else a report."""
    want = "\n".join(expected or []).strip()
    suspicious = re.search(r"panicked|INTERNAL Error", message)
    if suspicious and suspicious.group(0) not in want:
        return f"the error is a panic or internal error, which user input must never cause:\n  {message}"
    if not want:
        return None
    if want.startswith("<REGEX>:"):
        if re.search(want[len("<REGEX>:"):], message, re.DOTALL):
            return None
        return f"error message does not match the regex\n  expected: {want}\n  actual:   {message}"
    if want in message:
        return None
    return f"error message does not contain the expected text\n  expected: {want}\n  actual:   {message}"


# --------------------------------------------------------------------------------------------
# The worker: runs one file on one connection, reporting one JSON event per line on stdout.


def emit(**event) -> None:
    print(json.dumps(event), flush=True)


def worker(path: str, extension: str | None, model_dir: str | None = None) -> int:
    try:
        with open(path, encoding="utf-8") as f:
            headers, records = parse(f.read())
    except (OSError, ParseError) as e:
        emit(event="fail", line=0, message=f"cannot parse: {e}")
        return 1
    import duckdb  # the host under test

    con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
    test_dir = tempfile.mkdtemp(prefix="sqllogic-")
    try:
        for rec in records:
            emit(event="start", line=rec.line)
            problem = run_record(con, rec, extension, test_dir, model_dir)
            if problem:
                emit(event="fail", line=rec.line, sql=rec.sql, message=problem)
                return 1
        emit(event="done", records=len(records))
        return 0
    finally:
        shutil.rmtree(test_dir, ignore_errors=True)


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_MODEL_DIR = os.path.join(REPO, ".cache", "models", "all-MiniLM-L6-v2")


def run_record(con, rec: Record, extension: str | None, test_dir: str,
               model_dir: str | None = None) -> str | None:
    """Runs one record; None on success, else what went wrong."""
    if rec.kind == "require":
        if rec.arg == "prefroute":
            if not extension:
                return "require prefroute: no extension given (use --extension or PREFROUTE_EXTENSION)"
            target = extension
        else:
            target = rec.arg
        try:
            con.execute("LOAD '" + target.replace("'", "''") + "'")
        except Exception as e:  # noqa: BLE001 - any host error is a test failure
            return f"require {rec.arg}: LOAD failed: {e}"
        return None
    sql = rec.sql.replace("__TEST_DIR__", test_dir)
    if extension:
        sql = sql.replace("__PREFROUTE_EXTENSION__", extension)
    if "__MODEL_DIR__" in sql:
        model_dir = model_dir or DEFAULT_MODEL_DIR
        if not os.path.isfile(os.path.join(model_dir, "config.json")):
            return f"no embedding model in {model_dir} (run `make model`, or pass --model-dir)"
        sql = sql.replace("__MODEL_DIR__", model_dir.replace("'", "''"))
    try:
        cur = con.execute(sql)
        if rec.kind == "query":
            result = cur.fetchall()
            ncols = len(cur.description or [])
        elif cur.description:
            cur.fetchall()  # some errors only surface while the result is consumed
    except Exception as e:  # noqa: BLE001
        if rec.kind == "statement_error":
            return error_matches(str(e), rec.expected)
        return f"unexpected error: {e}"
    if rec.kind == "statement_error":
        return "expected an error, but the statement succeeded"
    if rec.kind == "statement_ok":
        return None
    if ncols != len(rec.types):
        return f"the query returns {ncols} column(s) but declares {len(rec.types)} type(s) ({rec.types})"
    actual = [[render(v) for v in row] for row in result]
    return compare(rec.types, rec.sort, actual, rec.expected or [])


# --------------------------------------------------------------------------------------------
# The parent: one subprocess per file.


class Outcome:
    def __init__(self, path: str, ok: bool, summary: str, detail: str = "", seconds: float = 0.0):
        self.path, self.ok, self.summary, self.detail, self.seconds = path, ok, summary, detail, seconds


def sql_at(path: str, line: int) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            _, records = parse(f.read())
    except (OSError, ParseError):
        return ""
    return next((r.sql or f"require {r.arg}" for r in records if r.line == line), "")


def run_file(python: str, extension: str | None, path: str, timeout: float,
             model_dir: str | None = None) -> Outcome:
    cmd = [python, os.path.abspath(__file__), "--worker", path]
    if extension:
        cmd += ["--extension", extension]
    if model_dir:
        cmd += ["--model-dir", model_dir]
    # Nor the LLM endpoint's settings and keys: judge_pairs tests name their server explicitly.
    env = {k: v for k, v in os.environ.items()
           if k != "PREFROUTE_MODEL_DIR" and not k.startswith("PREFROUTE_LLM_") and k != "OPENAI_API_KEY"}
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        last = last_started(out)
        return Outcome(path, False, f"timed out after {timeout:g} s",
                       f"  running the record at line {last}:\n{indent(sql_at(path, last))}" if last else "",
                       time.monotonic() - start)
    except OSError as e:
        return Outcome(path, False, f"cannot start the host {python}: {e}")
    seconds = time.monotonic() - start
    events = []
    for ln in proc.stdout.splitlines():
        try:
            events.append(json.loads(ln))
        except ValueError:
            pass  # stray host output
    done = next((e for e in events if e.get("event") == "done"), None)
    fail = next((e for e in events if e.get("event") == "fail"), None)
    stderr_tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
    if proc.returncode < 0:
        try:
            name = signal.Signals(-proc.returncode).name
        except ValueError:
            name = f"signal {-proc.returncode}"
        last = last_started(proc.stdout)
        detail = f"  the host crashed while running the record at line {last}:\n{indent(sql_at(path, last))}" \
            if last else "  the host crashed before running any record"
        if stderr_tail:
            detail += "\n  host stderr:\n" + indent(stderr_tail)
        return Outcome(path, False, f"CRASH ({name})", detail, seconds)
    if fail:
        detail = f"  line {fail.get('line')}:"
        if fail.get("sql"):
            detail += "\n" + indent(fail["sql"])
        detail += "\n" + indent(fail.get("message", ""), "  ")
        return Outcome(path, False, f"failed at line {fail.get('line')}", detail, seconds)
    if proc.returncode != 0 or not done:
        return Outcome(path, False, f"host exited with status {proc.returncode}",
                       "  host stderr:\n" + indent(stderr_tail), seconds)
    return Outcome(path, True, f"{done['records']} records", "", seconds)


def last_started(stdout: str) -> int | None:
    last = None
    for ln in stdout.splitlines():
        try:
            e = json.loads(ln)
        except ValueError:
            continue
        if e.get("event") == "start":
            last = e.get("line")
    return last


def indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + ln for ln in text.splitlines())


def collect(paths: list[str]) -> list[str]:
    files = []
    for p in paths:
        if os.path.isdir(p):
            for root, _, names in os.walk(p):
                files += [os.path.join(root, n) for n in names if n.endswith(".test")]
        elif os.path.isfile(p):
            files.append(p)
        else:
            raise SystemExit(f"sqllogic: no such test file or directory: {p}")
    return sorted(files)


def host_version(python: str, tool: str = "sqllogic") -> str:
    """The duckdb version of the host interpreter `python` (`tool` names the caller in errors)."""
    try:
        out = subprocess.run([python, "-c", "import duckdb; print(duckdb.__version__)"],
                             capture_output=True, text=True, timeout=120)
    except OSError as e:
        raise SystemExit(f"{tool}: cannot run the host interpreter {python}: {e}")
    if out.returncode != 0:
        raise SystemExit(f"{tool}: {python} cannot import duckdb:\n{out.stderr.strip()}")
    return out.stdout.strip()


def run_suite(python: str, extension: str | None, files: list[str], timeout: float, jobs: int,
              quiet: bool = False, model_dir: str | None = None) -> list[Outcome]:
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(run_file, python, extension, f, timeout, model_dir) for f in files]
        outcomes = []
        for fut in futures:  # in file order, whatever order they finish in
            o = fut.result()
            outcomes.append(o)
            if not quiet:
                print(f"{'PASS' if o.ok else 'FAIL'}  {o.path}  ({o.summary}, {o.seconds:.1f} s)", flush=True)
                if o.detail:
                    print(o.detail, flush=True)
    return outcomes


# --------------------------------------------------------------------------------------------
# Self-test: the runner must be able to fail.

SELF_TESTS = {
    # name: (file text, must pass?, text the outcome summary/detail must contain)
    "pass_basic": ("""# name: pass_basic
statement ok
CREATE TABLE t AS SELECT * FROM (VALUES (1, 'x', 0.7747, NULL), (2, '', 1.5, 'y')) v(a, b, c, d)

query ITRT
SELECT * FROM t ORDER BY a
----
1	x	0.775	NULL
2	(empty)	1.5	y

query I rowsort
SELECT a FROM t
----
2
1

query IT
SELECT a, b FROM t ORDER BY a
----
1
x
2
(empty)

statement error
SELECT * FROM no_such_table
----
no_such_table

statement ok
SELECT count(*) FROM t

query T
SELECT [1, 2]::INTEGER[]::VARCHAR
----
[1, 2]
""", True, "7 records"),
    "fail_wrong_value": ("query I\nSELECT 1\n----\n2\n", False, "expected '2', got '1'"),
    "fail_float_precision": ("query R\nSELECT 0.7747::DOUBLE\n----\n0.7748\n", False, "column 1"),
    "fail_row_count": ("query I\nSELECT 1 UNION ALL SELECT 2\n----\n1\n", False, "expected 1 row(s), got 2"),
    "fail_order": ("query I\nSELECT * FROM (VALUES (2), (1)) t(x)\n----\n1\n2\n", False, "row 1"),
    "fail_no_error": ("statement error\nSELECT 1\n----\nanything\n", False, "statement succeeded"),
    "fail_wrong_message": ("statement error\nSELECT * FROM nope\n----\nsomething else\n", False,
                           "does not contain"),
    "fail_statement_ok": ("statement ok\nSELECT * FROM nope\n", False, "unexpected error"),
    "fail_column_count": ("query II\nSELECT 1\n----\n1\t1\n", False, "declares 2 type(s)"),
    "fail_parse": ("stetement ok\nSELECT 1\n", False, "unknown record"),
    "fail_require": ("require no_such_extension_xyz\n", False, "LOAD failed"),
}


def self_test(python: str) -> int:
    tmp = tempfile.mkdtemp(prefix="sqllogic-selftest-")
    problems = []
    try:
        files = {}
        for name, (text, _, _) in SELF_TESTS.items():
            files[name] = os.path.join(tmp, name + ".test")
            with open(files[name], "w", encoding="utf-8") as f:
                f.write(text)
        outcomes = run_suite(python, None, [files[n] for n in SELF_TESTS], 120, 1, quiet=True)
        for (name, (_, must_pass, needle)), o in zip(SELF_TESTS.items(), outcomes):
            report = o.summary + "\n" + o.detail
            if o.ok != must_pass or needle not in report:
                problems.append(f"{name}: expected {'pass' if must_pass else 'failure'} mentioning {needle!r}, "
                                f"got {'pass' if o.ok else 'failure'}:\n{report}")
        # A host that dies by a signal must be reported with the signal's name.
        fake = os.path.join(tmp, "crashing-host")
        with open(fake, "w") as f:
            f.write("#!/bin/sh\necho '{\"event\": \"start\", \"line\": 1}'\nkill -ABRT $$\n")
        os.chmod(fake, 0o755)
        o = run_file(fake, None, files["pass_basic"], 60)
        if o.ok or "SIGABRT" not in o.summary or "line 1" not in o.detail:
            problems.append(f"crash: expected a SIGABRT failure naming line 1, got {o.summary}\n{o.detail}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for p in problems:
        print("SELF-TEST FAILURE: " + p)
    total = len(SELF_TESTS) + 1
    print(f"{total - len(problems)} passed, {len(problems)} failed")
    return 1 if problems else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="*", help=".test files or directories (searched recursively)")
    ap.add_argument("--python", default=sys.executable, help="host interpreter with the duckdb package")
    ap.add_argument("--extension", default=os.environ.get("PREFROUTE_EXTENSION"),
                    help="path of prefroute.duckdb_extension (default: env PREFROUTE_EXTENSION)")
    ap.add_argument("--model-dir", default=os.environ.get("PREFROUTE_MODEL_DIR") or DEFAULT_MODEL_DIR,
                    help="embedding model directory for __MODEL_DIR__ (default: env PREFROUTE_MODEL_DIR, "
                         "else .cache/models/all-MiniLM-L6-v2)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per file (default 600)")
    ap.add_argument("-j", "--jobs", type=int, default=1, help="files run in parallel (default 1)")
    ap.add_argument("--self-test", action="store_true", help="check that the runner detects failures")
    ap.add_argument("--worker", metavar="FILE", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args.worker, args.extension, args.model_dir)
    if args.self_test:
        print(f"sqllogic self-test, host duckdb {host_version(args.python)}")
        return self_test(args.python)
    if not args.paths:
        ap.error("give test files or directories")
    files = collect(args.paths)
    print(f"host: duckdb {host_version(args.python)} ({args.python}); extension: {args.extension}", flush=True)
    outcomes = run_suite(args.python, args.extension, files, args.timeout, args.jobs,
                         model_dir=args.model_dir)
    passed = sum(o.ok for o in outcomes)
    failed = len(outcomes) - passed
    if not outcomes:
        print("no .test files found")
    print(f"{passed} passed, {failed} failed")
    return 0 if outcomes and failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
