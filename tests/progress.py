#!/usr/bin/env python3
"""The progress line: on stderr only, only when asked, redrawn on a terminal, one line per 10 % elsewhere.

usage: python3 tests/progress.py --python .venv/duckdb-1.5.6/bin/python --cli .venv/cli/bin/duckdb \\
           --extension build/prefroute.duckdb_extension

From Python (stderr a pipe): `progress := true` writes the stages' lines to stderr, none to stdout, at most
eleven a stage; without it nothing; PREFROUTE_PROGRESS=1 turns it on for every function, `progress :=
false` off again. From the DuckDB CLI with stderr on a pseudo-terminal: the line is redrawn in place
(carriage return, erase to end of line), and the query's result on stdout carries no progress text.
"""

import argparse
import os
import pty
import re
import select
import subprocess
import sys

FILE = "examples/data/pandalm_test.parquet"  # 999 pairs: quick
ROUTE_FILE = "tests/fixtures/llmbar_slice.parquet"

PROBE = r"""
import sys
import duckdb
con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
con.execute("LOAD '" + sys.argv[1].replace("'", "''") + "'")
print(con.execute(sys.argv[2]).fetchall(), flush=True)
"""


def host(args, sql, env_extra=None):
    env = {k: v for k, v in os.environ.items() if k not in ("PREFROUTE_PROGRESS", "PREFROUTE_MODEL_DIR")}
    env.update(env_extra or {})
    p = subprocess.run([args.python, "-c", PROBE, args.extension, sql], capture_output=True, text=True,
                       env=env, timeout=300)
    if p.returncode != 0:
        raise SystemExit(f"FAIL  the host failed ({p.returncode}) on {sql}\n{p.stderr[-3000:]}")
    return p.stdout, p.stderr


def progress_lines(stderr):
    return [l for l in stderr.splitlines() if l.startswith("prefroute ")]


def check_python(args, problems):
    sql = f"SELECT count(*) FROM tag_instances('{FILE}', progress := true)"
    out, err = host(args, sql)
    lines = progress_lines(err)
    if "prefroute" in out:
        problems.append(f"progress text on stdout: {out!r}")
    if "\r" in err:
        problems.append("a carriage return on stderr that is not a terminal")
    for stage in ("pass 1 lengths", "pass 2 tags"):
        mine = [l for l in lines if l.startswith(f"prefroute tag_instances: {stage} ")]
        if not any("999/999 rows (100 %)" in l for l in mine):
            problems.append(f"python: no 100 % line for '{stage}': {lines}")
        if len(mine) > 11:
            problems.append(f"python: {len(mine)} lines for '{stage}' (at most one per 10 %)")
    print(f"      python, progress := true: {len(lines)} lines on stderr, e.g. {lines[-1] if lines else None!r}")
    _, err = host(args, f"SELECT count(*) FROM tag_instances('{FILE}')")
    if progress_lines(err):
        problems.append(f"python: progress lines without progress := true: {progress_lines(err)}")
    _, err = host(args, f"SELECT count(*) FROM route_instances('{ROUTE_FILE}', 0.3)", {"PREFROUTE_PROGRESS": "1"})
    if not any(l.startswith("prefroute route_instances: pass 2 tags") for l in progress_lines(err)):
        problems.append(f"python: PREFROUTE_PROGRESS=1 gave no route_instances line: {err[-500:]!r}")
    _, err = host(args, f"SELECT count(*) FROM tag_instances('{FILE}', progress := false)", {"PREFROUTE_PROGRESS": "1"})
    if progress_lines(err):
        problems.append("python: progress := false did not override PREFROUTE_PROGRESS=1")


def check_cli(args, problems):
    """The CLI with stderr on a pseudo-terminal and stdout on a pipe."""
    master, slave = pty.openpty()
    sql = f"LOAD '{args.extension}'; SELECT count(*) AS n FROM tag_instances('{FILE}', progress := true);"
    env = {k: v for k, v in os.environ.items() if k != "PREFROUTE_PROGRESS"}
    p = subprocess.Popen([args.cli, "-unsigned", "-csv", "-c", sql], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    tty = b""
    while True:
        ready, _, _ = select.select([master], [], [], 120)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        tty += chunk
    out = p.stdout.read().decode()
    p.wait(timeout=120)
    os.close(master)
    text = tty.decode(errors="replace")
    if p.returncode != 0:
        problems.append(f"cli: exit status {p.returncode}: {text[-1000:]!r}")
    if out.split() != ["n", "999"]:
        problems.append(f"cli: stdout should be the result only, got {out!r}")
    if not re.search(r"\rprefroute tag_instances: pass 2 tags [0-9,]+/999 rows \([0-9]+ %\).*?\x1b\[K", text):
        problems.append(f"cli: no line redrawn in place on the terminal: {text[-800:]!r}")
    if "pass 2 tags 999/999 rows (100 %)" not in text:
        problems.append(f"cli: the terminal never showed 100 %: {text[-800:]!r}")
    print(f"      cli, stderr on a terminal: {text.count(chr(13))} redraws, stdout {out.split()}")


def main() -> int:
    ap = argparse.ArgumentParser(description="the progress line from Python and from the CLI in a terminal")
    ap.add_argument("--python", required=True)
    ap.add_argument("--cli", required=True, help="the DuckDB CLI (.venv/cli/bin/duckdb)")
    ap.add_argument("--extension", required=True)
    args = ap.parse_args()
    args.extension = os.path.abspath(args.extension)
    problems = []
    check_python(args, problems)
    check_cli(args, problems)
    if problems:
        print("FAIL  " + "\n      ".join(problems))
        return 1
    print("PASS  progress: stderr only, only when asked, in place on a terminal, per 10 % elsewhere")
    return 0


if __name__ == "__main__":
    sys.exit(main())
