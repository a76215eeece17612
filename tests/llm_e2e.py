#!/usr/bin/env python3
"""End-to-end tests of judge_pairs and the LLM tagger (describe_prompts, tag_instances(tagger := 'llm'))
against a real llama.cpp server (part of `make test`).

usage: python3 tests/llm_e2e.py --python .venv/duckdb-1.5.6/bin/python \\
           --extension build/prefroute.duckdb_extension [--full] [--measure]

Run from the repository root. It runs scripts/setup_llm.sh (builds llama-server once per version into
.cache/llama-server/, fetches the pinned SmolLM2-135M-Instruct GGUF into .cache/models/), starts the
server on 127.0.0.1 with a free port, puts the fault-injecting proxy of tests/llm_proxy.py in front of
it, runs SQL in a DuckDB host subprocess that LOADs the extension, and stops the server by its PID.
Every request goes to loopback; every loop is bounded in count and time.

The tests check the machinery, not the tiny judge's quality: a label for every row in both orders, a
re-run that makes zero requests (counted at the proxy), output independent of max_concurrency, each
fault's documented outcome with no finished row lost, and no API key in any output, error or cache file.
`--measure` also prints pairs/s at max_concurrency 1, 2, 4 beside the server's tokens/s, and the judge's
agreement with human labels on examples/data/llmbar.parquet.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llm_proxy import FaultProxy  # noqa: E402

SERVER = ".cache/llama-server/0.3.36/llama-server"
MODEL = ".cache/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "smollm2-135m-instruct-q4_1"
LLMBAR = "examples/data/llmbar.parquet"
SENTINEL = "sk-PREFROUTE-SENTINEL-7f3a9c1e5b"

RUNNER = r"""
import duckdb, json, sys
ext, sql = sys.argv[1], sys.argv[2]
con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
con.execute("LOAD '" + ext.replace("'", "''") + "'")
try:
    rows = con.execute(sql).fetchall()
except Exception as e:
    print(json.dumps({"error": str(e)}))
    sys.exit(0)
print(json.dumps({"rows": rows}, default=str))
"""


# Runs the query and calls interrupt() from another thread after `delay` seconds (as Ctrl-C does).
INTERRUPTER = r"""
import duckdb, json, sys, threading, time
ext, sql, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
con.execute("LOAD '" + ext.replace("'", "''") + "'")
threading.Timer(delay, con.interrupt).start()
t0 = time.time()
try:
    n = len(con.execute(sql).fetchall())
    print(json.dumps({"rows": n, "seconds": time.time() - t0}))
except Exception as e:
    print(json.dumps({"error": str(e), "seconds": time.time() - t0}))
"""


# Like INTERRUPTER, then runs a second query on the same connection: it must still work.
INTERRUPT_THEN_QUERY = r"""
import duckdb, json, sys, threading, time
ext, sql, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
con.execute("LOAD '" + ext.replace("'", "''") + "'")
threading.Timer(delay, con.interrupt).start()
t0 = time.time()
out = {}
try:
    out["rows"] = len(con.execute(sql).fetchall())
except Exception as e:
    out["error"] = str(e)
out["seconds"] = time.time() - t0
out["after"] = con.execute("SELECT 42").fetchall()[0][0]
print(json.dumps(out))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """llama-server on 127.0.0.1:port, started and stopped by PID."""

    def __init__(self, port: int, log_path: str):
        self.port, self.log_path, self.proc = port, log_path, None

    def start(self, timeout: float = 120.0):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [SERVER, "-m", MODEL, "--host", "127.0.0.1", "--port", str(self.port), "-t", "1", "-np", "2",
             "-c", "16384", "--offline", "--no-webui", "--metrics"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama-server exited with {self.proc.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"llama-server not healthy after {timeout} s; see {self.log_path}")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def metrics(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as r:
            text = r.read().decode()
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                k, _, v = line.rpartition(" ")
                try:
                    out[k] = float(v)
                except ValueError:
                    pass
        return out


class Harness:
    def __init__(self, python: str, extension: str, workdir: str):
        self.python, self.extension, self.workdir = python, extension, workdir
        self.failures: list[str] = []
        self.passed = 0
        self.outputs: list[str] = []  # every SQL output and error, for the key-leak check

    @staticmethod
    def env(extra: dict | None) -> dict:
        """The host's environment: PREFROUTE_LLM_MODEL set to MODEL_NAME, no other LLM variable, then
        `extra` (a value None removes the variable)."""
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFROUTE_LLM_", "OPENAI_"))}
        full_env["PREFROUTE_LLM_MODEL"] = MODEL_NAME
        for k, v in (extra or {}).items():
            if v is None:
                full_env.pop(k, None)
            else:
                full_env[k] = v
        return full_env

    def sql(self, query: str, env: dict | None = None, timeout: float = 1800):
        full_env = self.env(env)
        proc = subprocess.run([self.python, "-c", RUNNER, self.extension, query], capture_output=True,
                              text=True, env=full_env, timeout=timeout)
        self.outputs.append(proc.stdout + proc.stderr)
        if proc.returncode != 0:
            raise RuntimeError(f"host crashed ({proc.returncode}) on {query!r}: {proc.stderr[-2000:]}")
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        return out

    def popen_sql(self, query: str, env: dict | None = None):
        full_env = self.env(env)
        return subprocess.Popen([self.python, "-c", RUNNER, self.extension, query], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=full_env)

    def rows(self, query: str, env: dict | None = None):
        out = self.sql(query, env)
        if "error" in out:
            raise AssertionError(f"unexpected SQL error: {out['error']}\n  in: {query}")
        return out["rows"]

    def check(self, name: str, cond: bool, detail: str = ""):
        if cond:
            self.passed += 1
            print(f"  ok    {name}", flush=True)
        else:
            self.failures.append(f"{name}: {detail}")
            print(f"  FAIL  {name}: {detail}", flush=True)

    def cache(self, name: str) -> str:
        d = os.path.join(self.workdir, "cache-" + name)
        shutil.rmtree(d, ignore_errors=True)
        return d


def jp(url: str, path: str = LLMBAR, **params) -> str:
    """A judge_pairs(...) call with named parameters."""
    args = [f"'{path}'", f"base_url := '{url}'"]
    for k, v in params.items():
        if isinstance(v, bool):
            args.append(f"{k} := {'true' if v else 'false'}")
        elif isinstance(v, (int, float)):
            args.append(f"{k} := {v}")
        else:
            args.append(f"{k} := '{v}'")
    return f"judge_pairs({', '.join(args)})"


def subset(h: Harness, n: int) -> str:
    """The n shortest pairs of llmbar (in input order) as a Parquet file: short prompts keep the tests
    fast on a busy CPU. The k shortest are a prefix of the n shortest for k < n."""
    path = os.path.join(h.workdir, f"llmbar_{n}.parquet")
    if not os.path.exists(path):
        h.rows(f"COPY (SELECT * EXCLUDE (k) FROM (SELECT *, row_number() OVER (ORDER BY length(prompt) + "
               f"length(completion_a) + length(completion_b), id) AS k FROM read_parquet('{LLMBAR}')) "
               f"WHERE k <= {n} ORDER BY k) TO '{path}' (FORMAT parquet)")
    return path


LABELS = "SELECT count(*), count(ai_pref), count(ai_pref_alt), count(error) FROM "


def test_machinery(h: Harness, proxy: FaultProxy, full: bool):
    print("judge_pairs against the real server:", flush=True)
    n = 885 if full else 24
    data = LLMBAR if full else subset(h, n)
    cache = h.cache("main")
    proxy.reset_counts()
    t0 = time.time()
    first = h.rows(f"SELECT id, ai_pref, ai_pref_alt, ai_confidence, judge_model, error FROM "
                   f"{jp(proxy.url, data, cache_dir=cache)}")
    elapsed = time.time() - t0
    sent = proxy.chat_requests
    labelled = sum(1 for r in first if r[1] in ("A", "B") and r[2] in ("A", "B"))
    h.check(f"{n} rows, every one labelled in both orders", len(first) == n and labelled == n,
            f"{len(first)} rows, {labelled} labelled; errors: {[r[5] for r in first if r[5]][:3]}")
    h.check("one request per pair and order", sent == 2 * n, f"{sent} requests for {n} pairs")
    h.check("judge_model names the model", all(r[4] == MODEL_NAME for r in first))
    conf = [r[3] for r in first if r[3] is not None]
    h.check("ai_confidence in [0.5, 1] from the answer token's logprobs (arg-max of two)",
            len(conf) == n and all(0.5 - 1e-9 <= c <= 1 + 1e-9 for c in conf), f"{len(conf)} non-NULL")
    print(f"        ({n} pairs, {sent} requests in {elapsed:.1f} s at max_concurrency 4)", flush=True)
    proxy.reset_counts()
    again = h.rows(f"SELECT id, ai_pref, ai_pref_alt, ai_confidence, judge_model, error FROM "
                   f"{jp(proxy.url, data, cache_dir=cache)}")
    h.check("a re-run makes zero requests", proxy.chat_requests == 0 and proxy.requests == 0,
            f"{proxy.requests} requests")
    h.check("a re-run returns the same rows", again == first)
    ids = [r[0] for r in h.rows(f"SELECT id FROM read_parquet('{data}')")]
    h.check("rows come out in input order", [r[0] for r in first] == ids)
    # It feeds judge_agreement: join back, replace the file's ai labels with the judge's.
    joined = os.path.join(h.workdir, "judged.parquet")
    h.rows(f"COPY (SELECT d.* EXCLUDE (ai_pref, ai_pref_alt), j.ai_pref, j.ai_pref_alt, j.ai_confidence FROM read_parquet('{data}') d "
           f"JOIN {jp(proxy.url, data, cache_dir=cache)} j USING (id)) TO '{joined}' (FORMAT parquet)")
    agree = h.rows(f"SELECT n, n_both, agreement, position_consistency FROM judge_agreement('{joined}', by := 'none')")
    h.check("judge_agreement reads ai_pref and ai_pref_alt", agree[0][0] == n and agree[0][3] is not None, str(agree))
    print(f"        agreement with humans {agree[0][2]:.3f} on {agree[0][1]} pairs, "
          f"position consistency {agree[0][3]:.3f}", flush=True)
    # Determinism: no cache, max_concurrency 1 vs 4, same labels.
    small = subset(h, 8)
    one = h.rows(f"SELECT id, ai_pref, ai_pref_alt FROM {jp(proxy.url, small, cache=False, max_concurrency=1)}")
    four = h.rows(f"SELECT id, ai_pref, ai_pref_alt FROM {jp(proxy.url, small, cache=False, max_concurrency=4)}")
    h.check("labels do not depend on max_concurrency (cache off)", one == four,
            f"{sum(a != b for a, b in zip(one, four))} rows differ")
    cached = h.rows(f"SELECT id, ai_pref, ai_pref_alt FROM {jp(proxy.url, small, cache_dir=cache)}")
    h.check("the cache returns what the server answers", cached == one)
    # swap := false asks once per pair and leaves ai_pref_alt NULL.
    proxy.reset_counts()
    r = h.rows(f"{LABELS}{jp(proxy.url, small, swap=False, cache=False)}")
    h.check("swap := false: one request per pair, ai_pref_alt NULL",
            tuple(r[0]) == (8, 8, 0, 0) and proxy.chat_requests == 8, f"{r} with {proxy.chat_requests} requests")
    # A user template.
    tpl = os.path.join(h.workdir, "t.txt")
    with open(tpl, "w") as f:
        f.write("Task: {prompt}\n\nA: {completion_a}\n\nB: {completion_b}\n\nWhich is better? Reply {\"answer\": \"A\"} or {\"answer\": \"B\"}.")
    r = h.rows(f"{LABELS}{jp(proxy.url, small, template=tpl, cache_dir=cache)}")
    h.check("template := file works", tuple(r[0]) == (8, 8, 8, 0), str(r))
    return first, elapsed


def test_faults(h: Harness, proxy: FaultProxy, server: Server):
    print("faults through the proxy:", flush=True)
    data = subset(h, 4)

    def run(name, faults=(), sticky=None, **params):
        proxy.set(faults, sticky)
        proxy.reset_counts()
        params.setdefault("cache_dir", h.cache(name))
        out = h.sql(f"SELECT id, ai_pref, ai_pref_alt, error FROM {jp(proxy.url, data, **params)}")
        proxy.set()
        return out, proxy.chat_requests

    for fault in ("429", "500", "drop"):
        out, sent = run(fault, faults=[fault] * 3)
        rows = out.get("rows", [])
        h.check(f"{fault} x3 is retried: every row labelled, 3 extra requests",
                len(rows) == 4 and all(r[1] and r[2] and r[3] is None for r in rows) and sent == 8 + 3,
                f"{out.get('error') or [r[3] for r in rows if r[3]][:2]}, {sent} requests")
    t0 = time.time()
    proxy.slow_seconds = 15.0
    out, sent = run("slow", faults=["slow"], timeout=6.0, max_concurrency=1)
    rows = out.get("rows", [])
    h.check("a reply slower than timeout is retried", len(rows) == 4 and all(r[1] and r[2] for r in rows) and sent >= 9,
            f"{out.get('error') or [r[3] for r in rows if r[3]][:2]}, {sent} requests, {time.time() - t0:.1f} s")
    out, sent = run("badjson", sticky="badjson", max_retries=1)
    rows = out.get("rows", [])
    h.check("malformed JSON, persistently: NULL labels and the reason, after 1 retry",
            len(rows) == 4 and all(r[1] is None and "not a JSON object" in (r[3] or "") for r in rows) and sent == 16,
            f"{rows[:1]}, {sent} requests")
    out, sent = run("400", sticky="400")
    rows = out.get("rows", [])
    h.check("a 400 is not retried", sent == 8 and all("HTTP 400" in (r[3] or "") for r in rows), f"{sent} requests, {rows[:1]}")
    out, sent = run("onerror", sticky="500", max_retries=0, on_error="error")
    err = out.get("error", "")
    h.check("on_error := 'error' makes a failure a SQL error naming function, file, column, row id",
            "judge_pairs" in err and data in err and "row id" in err and "HTTP 500" in err and "Hint" in err, err or str(out))
    # Partial failure: 2 pairs are answered, then the server fails every request; a re-run asks only
    # for the rest. (The cache is keyed by the messages, so the 3-row file's replies serve the 8-row one.)
    cache = h.cache("partial")
    proxy.reset_counts()
    h.rows(f"SELECT count(*) FROM {jp(proxy.url, subset(h, 2), cache_dir=cache)}")
    done = proxy.chat_requests
    out, sent = run("partial2", sticky="500", cache_dir=cache, max_retries=0, max_concurrency=1)
    rows = out.get("rows", [])
    kept = sum(1 for r in rows if r[1] and r[2])
    h.check("finished rows survive a failing run (from the cache)", done == 4 and kept == 2 and sent == 8 - done,
            f"{kept} kept after {done} done, {sent} requests")
    out, sent = run("partial3", cache_dir=cache)
    rows = out.get("rows", [])
    h.check("a re-run asks only for the failed rows", all(r[1] and r[2] for r in rows) and sent == 8 - done,
            f"{sent} requests, expected {8 - done}")
    # interrupt() stops a long run between the runner's chunks (about a second each), and the replies
    # finished before it are cached.
    cache = h.cache("interrupt")
    data12 = subset(h, 12)
    proxy.reset_counts()
    proc = subprocess.run([h.python, "-c", INTERRUPTER, h.extension,
                           f"SELECT * FROM {jp(proxy.url, data12, cache_dir=cache, max_concurrency=1)}", "2"],
                          capture_output=True, text=True, env={**os.environ, "PREFROUTE_LLM_MODEL": MODEL_NAME}, timeout=600)
    h.outputs.append(proc.stdout + proc.stderr)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    before = proxy.chat_requests
    h.check("interrupt() stops the query between chunks", "nterrupt" in out.get("error", "") and before < 24,
            f"{out}, {before} requests")
    proxy.reset_counts()
    h.rows(f"SELECT count(*) FROM {jp(proxy.url, data12, cache_dir=cache, max_concurrency=1)}")
    # Every reply finished before the host exited is cached; a request in flight at the exit (at most
    # max_concurrency of them) is asked again.
    h.check("... keeping the replies finished before it",
            0 < before and proxy.chat_requests < 24 and 24 <= before + proxy.chat_requests <= 24 + 1,
            f"{before} requests before, {proxy.chat_requests} after")
    print(f"        (interrupted after {out.get('seconds', 0):.1f} s and {before} requests)", flush=True)
    # Against a slow server (every reply held 2 s by the proxy), interrupt() still returns within about
    # a reply's time: each scan call hands out what is finished within about a second, and the
    # requests in flight when the scan is dropped finish and are cached, so a re-run reuses them.
    cache = h.cache("interrupt-slow")
    proxy.slow_seconds = 2.0
    proxy.set(sticky="slow")
    proxy.reset_counts()
    delay = 5.0
    proc = subprocess.run([h.python, "-c", INTERRUPT_THEN_QUERY, h.extension,
                           f"SELECT * FROM {jp(proxy.url, data12, cache_dir=cache, max_concurrency=2)}", str(delay)],
                          capture_output=True, text=True, env={**os.environ, "PREFROUTE_LLM_MODEL": MODEL_NAME}, timeout=600)
    proxy.set()
    h.outputs.append(proc.stdout + proc.stderr)
    out = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {"error": proc.stderr[-500:]}
    latency = out.get("seconds", 1e9) - delay
    before = proxy.chat_requests
    h.check("interrupt() against a slow server returns within a reply's time, connection usable",
            "nterrupt" in out.get("error", "") and latency < 2.0 + 4.0 and out.get("after") == 42,
            f"{out}, latency {latency:.2f} s")
    before = proxy.chat_requests
    proxy.reset_counts()
    rerun = h.rows(f"SELECT count(ai_pref), count(ai_pref_alt) FROM {jp(proxy.url, data12, cache_dir=cache, max_concurrency=2)}")
    h.check("... and a re-run reuses the replies finished before the host exited",
            tuple(rerun[0]) == (12, 12) and 0 < before and proxy.chat_requests < 24
            and 24 <= before + proxy.chat_requests <= 24 + 2,
            f"{before} requests before, {proxy.chat_requests} after, {rerun}")
    print(f"        (slow server: interrupt returned {latency:.2f} s after interrupt(), {before} requests before it)", flush=True)
    # The server killed mid-run and restarted on the same port: retries carry the run through.
    cache = h.cache("killed")
    data20 = subset(h, 12)
    proxy.reset_counts()
    proc = h.popen_sql(f"SELECT id, ai_pref, ai_pref_alt, error FROM {jp(proxy.url, data20, cache_dir=cache, max_concurrency=2, max_retries=6)}")
    deadline = time.time() + 120
    while proxy.chat_requests < 6 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    server.kill()
    killed_at = proxy.chat_requests
    time.sleep(1.5)
    server.start()
    stdout, stderr = proc.communicate(timeout=600)
    h.outputs.append(stdout + stderr)
    out = json.loads(stdout.strip().splitlines()[-1]) if stdout.strip() else {"error": stderr}
    rows = out.get("rows", [])
    h.check("server killed mid-run and restarted: every row labelled",
            len(rows) == 12 and all(r[1] and r[2] and r[3] is None for r in rows),
            f"killed after {killed_at} requests; {out.get('error') or [r[3] for r in rows if r[3]][:2]}")
    proxy.reset_counts()
    h.rows(f"SELECT count(*) FROM {jp(proxy.url, data20, cache_dir=cache)}")
    h.check("... and all of them are cached", proxy.chat_requests == 0, f"{proxy.chat_requests} requests")


def same_value(a, b) -> bool:
    """Equality that takes NaN as equal to NaN (and to nothing else)."""
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    return type(a) is type(b) and a == b


def same_rows(x: list, y: list) -> bool:
    return len(x) == len(y) and all(len(r) == len(s) and all(map(same_value, r, s)) for r, s in zip(x, y))


def test_rerun(h: Harness, proxy: FaultProxy):
    """Issue 23: one request per distinct request key within a query, identical completions judged
    tie without a request, and a re-run from the cache identical to the first run in every column."""
    print("judge_pairs: one reply per request key, and a re-run from the cache is the first run:", flush=True)
    base = subset(h, 6)
    path = os.path.join(h.workdir, "duplicated.parquet")
    # Rows 1-6 of the subset, plus: row 1 again right after it (both in flight at once), row 2 again at
    # the end, row 3 with its completions swapped (its first order is row 3's swapped order), and
    # row 4's prompt with completion_a twice (identical completions), twice.
    h.rows(f"""COPY (SELECT * EXCLUDE (ord) FROM (
          WITH b AS (SELECT CAST(id AS VARCHAR) AS id, prompt, completion_a, completion_b, human_pref,
                            row_number() OVER () AS k FROM read_parquet('{base}'))
          SELECT id, prompt, completion_a, completion_b, human_pref, k * 10 AS ord FROM b
          UNION ALL SELECT id || '-dup', prompt, completion_a, completion_b, human_pref, 11 FROM b WHERE k = 1
          UNION ALL SELECT id || '-dup', prompt, completion_a, completion_b, human_pref, 1000 FROM b WHERE k = 2
          UNION ALL SELECT id || '-swapped', prompt, completion_b, completion_a, human_pref, 35 FROM b WHERE k = 3
          UNION ALL SELECT id || '-same', prompt, completion_a, completion_a, human_pref, 12 FROM b WHERE k = 4
          UNION ALL SELECT id || '-same2', prompt, completion_a, completion_a, human_pref, 999 FROM b WHERE k = 4
        ) ORDER BY ord) TO '{path}' (FORMAT parquet)""")
    texts = h.rows(f"SELECT id, prompt, completion_a, completion_b FROM read_parquet('{path}')")
    keys = set()
    for _, p, a, b in texts:
        if a != b:
            keys |= {(p, a, b), (p, b, a)}
    n = len(texts)
    print(f"        ({n} rows, {len(keys)} distinct requests; {2 * n} without sharing)", flush=True)
    cols = "id, ai_pref, ai_pref_alt, ai_confidence, judge_model, error"
    for cache_on in (True, False):
        params = {"cache_dir": h.cache("rerun")} if cache_on else {"cache": False}
        proxy.reset_counts()
        first = h.rows(f"SELECT {cols} FROM {jp(proxy.url, path, max_concurrency=4, **params)}")
        what = "cache on" if cache_on else "cache := false"
        h.check(f"{what}: requests at the proxy = distinct request keys", proxy.chat_requests == len(keys),
                f"{proxy.chat_requests} requests for {len(keys)} keys")
        by_id = {r[0]: r for r in first}
        originals = [r[0][:-len("-dup")] for r in first if r[0].endswith("-dup")]
        dups_equal = len(originals) == 2 and all(same_rows([by_id[i][1:]], [by_id[i + "-dup"][1:]]) for i in originals)
        h.check(f"{what}: a duplicated row gets its original's values", dups_equal,
                str([(by_id[i], by_id[i + '-dup']) for i in originals]))
        orig = next(r for r in first if r[0] + "-swapped" in by_id)
        swapped = by_id[orig[0] + "-swapped"]
        flip = {"A": "B", "B": "A"}
        h.check(f"{what}: a row with the completions swapped shares the other order's reply",
                swapped[1] == flip.get(orig[2]) and swapped[2] == flip.get(orig[1]), f"{orig} vs {swapped}")
        same = [r for r in first if r[0].endswith(("-same", "-same2"))]
        h.check(f"{what}: identical completions: tie in both orders, confidence 0.5, no error",
                len(same) == 2 and all(r[1:4] == ["tie", "tie", 0.5] and r[5] is None for r in same), str(same))
        labelled = sum(1 for r in first if r[1] in ("A", "B", "tie") and r[2] in ("A", "B", "tie"))
        h.check(f"{what}: every row labelled, in input order", labelled == n and [r[0] for r in first] == [t[0] for t in texts],
                f"{labelled} of {n}; errors {[r[5] for r in first if r[5]][:2]}")
        if not cache_on:
            continue
        proxy.reset_counts()
        again = h.rows(f"SELECT {cols} FROM {jp(proxy.url, path, max_concurrency=4, **params)}")
        h.check("a re-run from the cache makes zero requests", proxy.requests == 0, f"{proxy.requests} requests")
        h.check("... and returns exactly the first run, every column (NaN-aware)", same_rows(first, again),
                str([(r, s) for r, s in zip(first, again) if not same_rows([r], [s])][:3]))
        proxy.reset_counts()
        one = h.rows(f"SELECT {cols} FROM {jp(proxy.url, path, max_concurrency=1, **params)}")
        h.check("... also at max_concurrency := 1", proxy.requests == 0 and same_rows(first, one))
        # Position consistency and ai_inconsistent do not count identical completions as inconsistent.
        judged = os.path.join(h.workdir, "duplicated_judged.parquet")
        h.rows(f"COPY (SELECT d.*, j.ai_pref, j.ai_pref_alt, j.ai_confidence FROM read_parquet('{path}') d "
               f"JOIN {jp(proxy.url, path, **params)} j USING (id) WHERE d.id LIKE '%-same%') TO '{judged}' (FORMAT parquet)")
        pc = h.rows(f"SELECT n, position_consistency FROM judge_agreement('{judged}', by := 'none')")
        h.check("judge_agreement: identical completions are position-consistent", pc == [[2, 1.0]], str(pc))


def server_models(server: Server) -> list:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/v1/models", timeout=10) as r:
        return [m["id"] for m in json.load(r)["data"]]


def test_default_model(h: Harness, proxy: FaultProxy, server: Server):
    """Without llm_model := and PREFROUTE_LLM_MODEL, the model is the one GET /v1/models lists."""
    print("the default model, from GET /v1/models:", flush=True)
    ids = server_models(server)
    h.check("llama-server lists one model", len(ids) == 1, str(ids))
    no_model = {"PREFROUTE_LLM_MODEL": None}
    data = subset(h, 3)
    cache = h.cache("default-model")
    proxy.reset_counts()
    r = h.rows(f"SELECT judge_model, count(*), count(ai_pref), count(ai_pref_alt) FROM {jp(proxy.url, data, cache_dir=cache)} "
               f"GROUP BY judge_model", no_model)
    h.check("judge_pairs: judge_model is the server's model, asked once at bind",
            r == [[ids[0], 3, 3, 3]] and proxy.model_requests == 1 and proxy.chat_requests == 6,
            f"{r}, {proxy.model_requests} model list requests, {proxy.chat_requests} chat requests")
    proxy.reset_counts()
    named = h.rows(f"SELECT * FROM {jp(proxy.url, data, cache_dir=cache, llm_model=ids[0])}")
    unnamed = h.rows(f"SELECT * FROM {jp(proxy.url, data, cache_dir=cache)}", no_model)
    h.check("... the same cache entries as naming it with llm_model := (re-runs: no chat request)",
            same_rows(named, unnamed) and proxy.chat_requests == 0, f"{proxy.chat_requests} chat requests")
    proxy.reset_counts()
    r = h.rows(f"SELECT tagger_model, count(safety_concern) + count(error) FROM "
               f"{dp(proxy.url, data, cache_dir=cache)[:-1]}, fields := ['safety_concern']) GROUP BY ALL", no_model)
    h.check("describe_prompts: tagger_model is the server's model", r == [[ids[0], 3]] and proxy.model_requests == 1,
            f"{r}, {proxy.model_requests} model list requests")
    proxy.reset_counts()
    r = h.rows(f"SELECT count(*), count(safety_concern) FROM tag_instances('{data}', tagger := 'llm', "
               f"base_url := '{proxy.url}', cache_dir := '{cache}', tfidf := false)", no_model)
    h.check("tag_instances(tagger := 'llm'): the same", r[0][0] == 3 and proxy.model_requests == 1,
            f"{r}, {proxy.model_requests} model list requests")
    # Several models: the proxy adds a second one to the real server's list.
    proxy.models_rewrite = lambda j: {**j, "data": j["data"] + [{**j["data"][0], "id": "second-model"}]}
    try:
        errs = [h.sql(q, no_model).get("error", "") for q in (
            f"SELECT * FROM {jp(proxy.url, data, cache_dir=cache)}",
            f"SELECT * FROM {dp(proxy.url, data, cache_dir=cache)}",
            f"SELECT * FROM tag_instances('{data}', tagger := 'llm', base_url := '{proxy.url}', cache_dir := '{cache}')")]
        for fn, err in zip(("judge_pairs", "describe_prompts", "tag_instances"), errs):
            h.check(f"{fn}: several models are an error listing them and naming llm_model :=",
                    f"{fn}:" in err and "2 models" in err and f"'{ids[0]}'" in err and "'second-model'" in err
                    and "llm_model :=" in err, err)
        named = h.rows(f"SELECT count(ai_pref) FROM {jp(proxy.url, data, cache_dir=cache, llm_model=ids[0])}")
        h.check("... and naming one works", named == [[3]], str(named))
        proxy.models_rewrite = lambda j: {**j, "data": []}
        err = h.sql(f"SELECT * FROM {jp(proxy.url, data, cache_dir=cache)}", no_model).get("error", "")
        h.check("a server listing no model is an error naming llm_model :=",
                "judge_pairs" in err and "lists no model" in err and "llm_model :=" in err, err)
    finally:
        proxy.models_rewrite = None



def test_errors_and_key(h: Harness, proxy: FaultProxy):
    print("bind errors and the API key:", flush=True)
    port = free_port()
    out = h.sql(f"SELECT * FROM judge_pairs('{LLMBAR}', base_url := 'http://127.0.0.1:{port}/v1')")
    err = out.get("error", "")
    h.check("an unreachable server is a bind error naming the URL and how to start one",
            f"127.0.0.1:{port}/v1" in err and "unreachable" in err and "llama-server" in err, err)
    data = subset(h, 4)
    cache = h.cache("key")
    env = {"PREFROUTE_LLM_API_KEY": SENTINEL}
    proxy.auth_seen.clear()
    r = h.rows(f"{LABELS}{jp(proxy.url, data, cache_dir=cache)}", env)
    h.check("the key is sent as a Bearer token", proxy.auth_seen == {"Bearer " + SENTINEL} and tuple(r[0]) == (4, 4, 4, 0),
            f"{len(proxy.auth_seen)} distinct Authorization headers, {r}")
    proxy.set(sticky="echo-auth")
    out = h.sql(f"SELECT error FROM {jp(proxy.url, data, cache_dir=h.cache('key2'))}", env)
    out2 = h.sql(f"SELECT * FROM {jp(proxy.url, data, cache_dir=h.cache('key3'), on_error='error')}", env)
    proxy.set()
    h.check("a server that echoes the key: the error shows *** instead",
            "***" in json.dumps(out) and "***" in out2.get("error", ""), f"{out} {out2}")
    env2 = {"OPENAI_API_KEY": SENTINEL}
    h.sql(f"SELECT * FROM {jp('http://127.0.0.1:' + str(port) + '/v1', data)}", env2)


def vocabulary() -> dict:
    """The options of every descriptive field, read from the sources the extension is built from."""
    with open("assets/tag_vocabulary.json") as f:
        v = json.load(f)
    def rust_array(path, name):
        with open(path) as f:
            text = f.read()
        body = re.search(name + r": \[&str; \d+\] =\s*\[(.*?)\];", text, re.S).group(1)
        return re.findall(r'"([^"]+)"', body)
    out = dict(v["scalar"])
    out["subject_of_expertise"] = v["closed_set"]["subject_of_expertise"]
    out["languages"] = rust_array("src/llm/analyzer.rs", "LANGUAGES")
    out["type_of_in_context_material"] = rust_array("src/tags/descriptive/vocab.rs", "MATERIAL_NAMES")
    out["format_constraints"] = rust_array("src/tags/descriptive/vocab.rs", "FORMAT_NAMES")
    return out


FIELDS = ["subject_of_expertise", "languages", "expertise_level", "open_endedness", "safety_concern",
          "complexity_of_intents", "type_of_in_context_material", "format_constraints"]
LISTS = {"subject_of_expertise", "languages", "type_of_in_context_material", "format_constraints"}


def dp(url: str, path: str, **params) -> str:
    return jp(url, path, **params).replace("judge_pairs(", "describe_prompts(", 1)


def test_tagger(h: Harness, proxy: FaultProxy):
    print("the LLM tagger (describe_prompts, tag_instances(tagger := 'llm')) against the real server:", flush=True)
    vocab = vocabulary()
    n = 6
    data = subset(h, n)
    cache = h.cache("tagger")
    cols = ", ".join(FIELDS)
    proxy.reset_counts()
    t0 = time.time()
    first = h.rows(f"SELECT id, {cols}, missing, error FROM {dp(proxy.url, data, cache_dir=cache)}")
    sent = proxy.chat_requests
    h.check(f"describe_prompts: {n} rows, one request per (prompt, field)", len(first) == n and sent == 8 * n,
            f"{len(first)} rows, {sent} requests")
    bad = []
    for r in first:
        missing = set(r[9])
        for k, f in enumerate(FIELDS):
            v = r[1 + k]
            if v is None:
                if f not in missing:
                    bad.append(f"{r[0]} {f}: NULL but not in missing")
            elif f in missing:
                bad.append(f"{r[0]} {f}: in missing but not NULL")
            elif f in LISTS:
                if not isinstance(v, list) or any(x not in vocab[f] for x in v):
                    bad.append(f"{r[0]} {f}: {v}")
            elif v not in vocab[f]:
                bad.append(f"{r[0]} {f}: {v!r}")
    h.check("every value is in the vocabulary, or NULL and named in missing", not bad, str(bad[:3]))
    h.check("no request failed", all(r[10] is None for r in first), str([r[10] for r in first if r[10]][:2]))
    n_missing = sum(len(r[9]) for r in first)
    print(f"        ({n} prompts, {sent} requests in {time.time() - t0:.1f} s; {n_missing} of {8 * n} fields "
          f"answered outside the vocabulary)", flush=True)
    proxy.reset_counts()
    again = h.rows(f"SELECT id, {cols}, missing, error FROM {dp(proxy.url, data, cache_dir=cache)}")
    h.check("describe_prompts: a re-run makes zero requests and returns the same rows",
            proxy.requests == 0 and again == first, f"{proxy.requests} requests")
    # tag_instances with the LLM tagger asks the same requests: all cached.
    proxy.reset_counts()
    tagged = h.rows(f"SELECT id, {cols}, missing, error, tags FROM tag_instances('{data}', tagger := 'llm', "
                    f"base_url := '{proxy.url}', cache_dir := '{cache}', tfidf := false)")
    h.check("tag_instances(tagger := 'llm'): a re-run of the same requests makes zero requests",
            proxy.requests == 0 and len(tagged) == n, f"{proxy.requests} requests, {len(tagged)} rows")
    # The same values as describe_prompts; a NULL list there is an empty list here (as a NULL input
    # column gives), named in missing the same way.
    same = all(
        [t[0]] + [(t[1 + k] if not (f in LISTS and f in t[9]) else None) for k, f in enumerate(FIELDS)] == [d[0]] + list(d[1:9])
        and sorted(m for m in t[9] if m in FIELDS) == sorted(d[9])  # tag_instances' missing also names measures
        for t, d in zip(tagged, first))
    h.check("... with describe_prompts' values and missing fields", same, f"{tagged[:1]} vs {first[:1]}")
    scalar_tags_ok = all(
        (f"analyzer_scalar::feature_name=safety_concern|value={t[5]}" in t[11]) == (t[5] is not None) for t in tagged)
    h.check("... and the tags follow the LLM's values", scalar_tags_ok, str([t[11] for t in tagged][:1]))
    # Downstream: the LLM-tagged file routes like any other.
    rules = h.rows(f"SELECT count(*) FROM tag_instances('{data}', tfidf := false)")
    error_cols = h.rows(f"SELECT count(*) FROM (DESCRIBE SELECT * FROM tag_instances('{data}')) WHERE column_name = 'error'")
    h.check("tagger := 'rules' (the default) still works and has no error column",
            rules[0][0] == n and error_cols[0][0] == 0, f"{rules} {error_cols}")
    # Determinism: concurrency 1 vs 4, no cache, two fields.
    small = subset(h, 4)
    two = "fields := ['safety_concern', 'subject_of_expertise']"
    one = h.rows(f"SELECT * EXCLUDE (error) FROM {dp(proxy.url, small, cache=False, max_concurrency=1)[:-1]}, {two})")
    four = h.rows(f"SELECT * EXCLUDE (error) FROM {dp(proxy.url, small, cache=False, max_concurrency=4)[:-1]}, {two})")
    # The client's part: one row per pair, in input order, whatever the concurrency. The values are the
    # server's: llama-server batches concurrent requests, which can change a greedy token (the judge's
    # ai_confidence moved by up to 0.035 between concurrency 1 and 2 with cold caches, docs/figures.md),
    # so they are reported, not required to be equal; with the cache on, re-runs are identical (above).
    h.check("describe_prompts: rows in input order whatever max_concurrency (cache off)",
            [r[0] for r in one] == [r[0] for r in four] and len(one) == 4,
            f"ids {[r[0] for r in one]} vs {[r[0] for r in four]}")
    print(f"        values equal at max_concurrency 1 and 4 on {sum(a == b for a, b in zip(one, four))} of "
          f"{len(one)} rows (server-side batching may change them)", flush=True)
    h.check("fields := asks only those fields; the others are NULL and not missing",
            all(r[2] is None and r[3] is None and r[4] is None and r[6] is None for r in one), str(one[:1]))
    # Errors.
    err = h.sql(f"SELECT * FROM tag_instances('{data}', tagger := 'gpt')").get("error", "")
    h.check("an unknown tagger lists the valid ones", "tag_instances" in err and "'rules'" in err and "'llm'" in err, err)
    err = h.sql(f"SELECT * FROM tag_instances('{data}', tagger := 'llm')").get("error", "")
    h.check("tagger := 'llm' without base_url or PREFROUTE_LLM_BASE_URL is a clear error",
            "tag_instances" in err and "base_url" in err and "PREFROUTE_LLM_BASE_URL" in err, err)
    err = h.sql(f"SELECT * FROM tag_instances('{data}', base_url := '{proxy.url}')").get("error", "")
    h.check("an LLM parameter without tagger := 'llm' says so", "tagger := 'llm'" in err, err)
    err = h.sql(f"SELECT * FROM {dp(proxy.url, data)[:-1]}, fields := ['safety'])").get("error", "")
    h.check("an unknown field lists the fields", "describe_prompts" in err and "format_constraints" in err, err)
    proxy.set(sticky="500")
    out = h.sql(f"SELECT * FROM {dp(proxy.url, small, cache_dir=h.cache('tagger-onerror'), max_retries=0, on_error='error')}")
    rows = h.sql(f"SELECT count(*), count(error), count(safety_concern) FROM {dp(proxy.url, small, cache_dir=h.cache('tagger-null'), max_retries=0)}")
    proxy.set()
    err = out.get("error", "")
    h.check("on_error := 'error': a failed request is a SQL error naming function, file, row id and the reason",
            "describe_prompts" in err and small in err and "row id" in err and "HTTP 500" in err and "Hint" in err, err or str(out))
    h.check("on_error := 'null': failed fields are NULL, the reason in error", rows.get("rows") == [[4, 4, 0]], str(rows))
    # The API key: sent, never shown.
    env = {"PREFROUTE_LLM_API_KEY": SENTINEL}
    proxy.auth_seen.clear()
    r = h.rows(f"SELECT count(*), count(error) FROM {dp(proxy.url, small, cache_dir=h.cache('tagger-key'))[:-1]}, {two})", env)
    h.check("the tagger sends the key as a Bearer token", proxy.auth_seen == {"Bearer " + SENTINEL} and tuple(r[0]) == (4, 0),
            f"{len(proxy.auth_seen)} headers, {r}")
    proxy.set(sticky="echo-auth")
    out = h.sql(f"SELECT error FROM {dp(proxy.url, small, cache_dir=h.cache('tagger-key2'))}", env)
    out2 = h.sql(f"SELECT * FROM tag_instances('{small}', tagger := 'llm', base_url := '{proxy.url}', "
                 f"cache_dir := '{h.cache('tagger-key3')}', on_error := 'error')", env)
    proxy.set()
    h.check("a server that echoes the key: the tagger's errors show *** instead",
            "***" in json.dumps(out) and "***" in out2.get("error", ""), f"{out} {out2}")


def check_no_leak(h: Harness):
    """Run last: every SQL output and error of the whole run, and every cache file."""
    print("the API key, after all tests:", flush=True)
    leaked = [o for o in h.outputs if SENTINEL in o]
    h.check("no output or error of any test contains the key", not leaked, f"{len(leaked)} outputs contain it")
    in_cache = []
    for root, _, files in os.walk(h.workdir):
        if "cache-" not in root:
            continue
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                if SENTINEL.encode() in fh.read():
                    in_cache.append(f)
    h.check("no cache file contains the key", not in_cache, str(in_cache[:3]))


def measure(h: Harness, server: Server, proxy: FaultProxy):
    print("measurements (cache off, the 16 shortest pairs of llmbar, both orders):", flush=True)
    data = subset(h, 16)
    for c in (1, 2, 4):
        before = server.metrics()
        t0 = time.time()
        h.rows(f"SELECT count(*) FROM {jp(f'http://127.0.0.1:{server.port}/v1', data, cache=False, max_concurrency=c)}")
        dt = time.time() - t0
        after = server.metrics()
        d = {k: after.get(k, 0) - before.get(k, 0) for k in after}
        busy = d.get("llamacpp:prompt_seconds_total", 0) + d.get("llamacpp:tokens_predicted_seconds_total", 0)
        prompt_tok = d.get("llamacpp:prompt_tokens_total", 0)
        gen_tok = d.get("llamacpp:tokens_predicted_total", 0)
        print(f"  max_concurrency {c}: {16 / dt:.2f} pairs/s ({32 / dt:.2f} requests/s, {dt:.1f} s); server: "
              f"{prompt_tok / dt:.0f} prompt tokens/s + {gen_tok / dt:.1f} generated tokens/s over the wall time "
              f"({prompt_tok:.0f} prompt tokens, {gen_tok:.0f} generated); slot-busy time / wall time {busy / dt:.2f}",
              flush=True)


def agreement_sample(h: Harness, server: Server, n: int):
    """The tiny judge's agreement with the human labels on a seeded random sample of n llmbar pairs."""
    print(f"agreement on a random sample of {n} llmbar pairs (reservoir, seed 42), max_concurrency 2:", flush=True)
    path = os.path.join(h.workdir, f"sample_{n}.parquet")
    h.rows(f"COPY (SELECT * FROM read_parquet('{LLMBAR}') USING SAMPLE {n} ROWS (reservoir, 42)) TO '{path}' (FORMAT parquet)")
    url = f"http://127.0.0.1:{server.port}/v1"
    before, t0 = server.metrics(), time.time()
    joined = os.path.join(h.workdir, f"sample_{n}_judged.parquet")
    h.rows(f"COPY (SELECT d.* EXCLUDE (ai_pref, ai_pref_alt), j.ai_pref, j.ai_pref_alt, j.ai_confidence, j.error "
           f"FROM read_parquet('{path}') d JOIN {jp(url, path, max_concurrency=2, cache=False)} j USING (id)) "
           f"TO '{joined}' (FORMAT parquet)")
    dt, after = time.time() - t0, server.metrics()
    d = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    r = h.rows(f"SELECT n, n_both, agreement, cohen_kappa, position_consistency, ai_tie_rate FROM "
               f"judge_agreement('{joined}', by := 'none')")[0]
    dist = h.rows(f"SELECT ai_pref, ai_pref_alt, count(*) FROM '{joined}' GROUP BY ALL ORDER BY ALL")
    print(f"  n {r[0]}, n_both {r[1]}, agreement {r[2]:.3f}, kappa {r[3]:.3f}, position consistency {r[4]:.3f}; "
          f"(ai_pref, ai_pref_alt, count): {dist}", flush=True)
    print(f"  {n / dt:.3f} pairs/s over {dt:.0f} s; {d.get('llamacpp:prompt_tokens_total', 0):.0f} prompt tokens, "
          f"{d.get('llamacpp:tokens_predicted_total', 0):.0f} generated", flush=True)


def reproducibility(h: Harness, server: Server, n: int):
    """What a cold cache reproduces: the n shortest llmbar pairs judged on two fresh caches at
    max_concurrency 1 and 2, compared with each other, then each re-run from its own cache."""
    print(f"reproducibility on the {n} shortest llmbar pairs (fresh caches, max_concurrency 1 vs 2):", flush=True)
    data = subset(h, n)
    url = f"http://127.0.0.1:{server.port}/v1"
    cols = "id, ai_pref, ai_pref_alt, ai_confidence, judge_model, error"
    runs = {}
    for c in (1, 2):
        cache = h.cache(f"repro-{c}")
        first = h.rows(f"SELECT {cols} FROM {jp(url, data, cache_dir=cache, max_concurrency=c)}")
        again = h.rows(f"SELECT {cols} FROM {jp(url, data, cache_dir=cache, max_concurrency=3 - c)}")
        runs[c] = first
        print(f"  max_concurrency {c}: re-run from its cache (at max_concurrency {3 - c}) identical in every "
              f"column: {same_rows(first, again)}", flush=True)
    one, two = runs[1], runs[2]
    diffs = [abs(a[3] - b[3]) for a, b in zip(one, two) if a[3] is not None and b[3] is not None and a[3] != b[3]]
    labels = sum(1 for a, b in zip(one, two) if a[1:3] != b[1:3])
    print(f"  cold caches, max_concurrency 1 vs 2: ai_confidence differs on {len(diffs)} of {n} pairs "
          f"(max {max(diffs, default=0):.5f}, median {sorted(diffs)[len(diffs) // 2] if diffs else 0:.5f}); "
          f"labels (ai_pref, ai_pref_alt) differ on {labels}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", required=True)
    ap.add_argument("--extension", required=True)
    ap.add_argument("--full", action="store_true",
                    help="judge the whole of llmbar (885 pairs, 1770 requests) instead of its 24 shortest pairs")
    ap.add_argument("--measure", action="store_true", help="also print throughput figures")
    ap.add_argument("--no-setup", action="store_true", help="skip scripts/setup_llm.sh")
    ap.add_argument("--sample", type=int, default=0,
                    help="only measure the judge's agreement on a random sample of this many llmbar pairs")
    ap.add_argument("--reproducibility", type=int, default=0,
                    help="only compare cold-cache runs at max_concurrency 1 and 2 (and their cached re-runs) "
                         "on this many of the shortest llmbar pairs")
    args = ap.parse_args()
    t_start = time.time()
    if not args.no_setup:
        subprocess.run(["scripts/setup_llm.sh", "all"], check=True)
    workdir = tempfile.mkdtemp(prefix="prefroute-llm-")
    h = Harness(args.python, os.path.abspath(args.extension), workdir)
    server = Server(free_port(), os.path.join(workdir, "llama-server.log"))
    proxy = None
    try:
        t0 = time.time()
        server.start()
        print(f"llama-server up on 127.0.0.1:{server.port} in {time.time() - t0:.1f} s (pid {server.proc.pid})", flush=True)
        proxy = FaultProxy(server.port).start()
        if args.sample:
            agreement_sample(h, server, args.sample)
            return 0
        if args.reproducibility:
            reproducibility(h, server, args.reproducibility)
            return 0
        test_errors_and_key(h, proxy)
        test_faults(h, proxy, server)
        test_machinery(h, proxy, args.full)
        test_rerun(h, proxy)
        test_default_model(h, proxy, server)
        test_tagger(h, proxy)
        if args.measure:
            measure(h, server, proxy)
        check_no_leak(h)
    except Exception as e:  # a harness error is a failure, with the server stopped below
        h.failures.append(f"harness: {type(e).__name__}: {e}")
        print(f"  FAIL  harness: {e}", flush=True)
    finally:
        if proxy:
            proxy.stop()
        server.stop()
    print(f"{h.passed} passed, {len(h.failures)} failed ({time.time() - t_start:.0f} s)")
    if h.failures:
        print("server log: " + server.log_path)
        return 1
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
