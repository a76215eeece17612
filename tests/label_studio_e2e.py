#!/usr/bin/env python3
"""The annotation round trip against a real Label Studio (label-studio 1.23.2 from PyPI).

Run by `make test-label-studio` with a DuckDB host's Python:

    .venv/duckdb-1.5.6/bin/python tests/label_studio_e2e.py --extension build/prefroute.duckdb_extension \
        --label-studio .venv/label-studio/bin/label-studio

It starts Label Studio on 127.0.0.1 (a free port, SQLite in a temporary directory copied from a data dir that
`label-studio init` prepared once in .cache/label-studio/, a pre-created user and legacy API token: the facts in
shared/reference/LABEL_STUDIO.md), then does what a team does:

1. routes an unlabelled copy of tests/fixtures/llmbar_slice.parquet and writes the tasks with
   `COPY (SELECT * FROM label_studio_tasks(…)) TO 'tasks.json' (FORMAT json, ARRAY true)`;
2. creates a project with the shipped config (`label_studio_config()`), imports that file as is, and
   checks every task and every judge prediction arrived;
3. annotates through the REST API as the annotation UI would: labels that contradict the judge, a tie,
   a skipped task, two annotations that disagree, and one in the Pairwise template's shape;
4. exports (exportType=JSON), reads the export with `label_studio_labels`, and checks each task's label;
5. merges with `hybrid_dataset(…, human_labels := …)`: the skipped task is an error naming it by default,
   and with on_missing_human := 'drop' every routed id carries its human label, every other its AI label.

Label Studio is stopped by its PID in a `finally`. Nothing here is mocked.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import duckdb

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join(REPO, "tests", "fixtures", "llmbar_slice.parquet")
BUDGET = 6
TOKEN = "prefroute-e2e-0123456789abcdef0123456789abcdef"
USER = "annotator@prefroute.test"
PASSWORD = "prefroute-e2e-password"


def log(msg: str) -> None:
    print(f"[label-studio e2e {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ls_env(data_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        LABEL_STUDIO_BASE_DATA_DIR=data_dir,
        LABEL_STUDIO_USERNAME=USER,
        LABEL_STUDIO_PASSWORD=PASSWORD,
        LABEL_STUDIO_USER_TOKEN=TOKEN,
        LATEST_VERSION_CHECK="false",
        SENTRY_DSN="",
        FRONTEND_SENTRY_DSN="",
        COLLECT_ANALYTICS="false",
        HOME=data_dir,  # Label Studio writes under ~/.local/share when it can: keep it in the temp dir
    )
    return env


class Api:
    def __init__(self, port: int):
        self.base = f"http://127.0.0.1:{port}"

    def call(self, method: str, path: str, body=None, raw: bytes | None = None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Authorization", f"Token {TOKEN}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                text = r.read()
                return r.status, (json.loads(text) if text else None)
        except urllib.error.HTTPError as e:
            raise AssertionError(f"{method} {path} → {e.code}: {e.read()[:2000]!r}") from None


def wait_health(port: int, proc: subprocess.Popen, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if proc.poll() is not None:
            raise AssertionError(f"label-studio exited with {proc.returncode} before it was healthy")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
                if json.loads(r.read()).get("status") == "UP":
                    return time.monotonic() - start
        except (OSError, ValueError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"label-studio was not healthy on port {port} after {timeout:.0f} s")


def result_choice(label: str) -> dict:
    """What the annotation UI writes for the shipped config's choice."""
    return {"from_name": "preference", "to_name": "prompt", "type": "choices", "value": {"choices": [label]}}


def result_pairwise(side: str) -> dict:
    """What the UI writes for Label Studio's own Pairwise template."""
    return {"from_name": "comparison", "to_name": "comparison", "type": "pairwise", "value": {"selected": side}}


def other(label: str) -> str:
    return {"A": "B", "B": "A"}.get(label, "A")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--extension", required=True)
    ap.add_argument("--label-studio", required=True, help="the label-studio executable of its venv")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    label_studio = os.path.abspath(args.label_studio)
    if not os.access(label_studio, os.X_OK):
        raise SystemExit(f"{label_studio} is not an executable: run scripts/setup_python.sh label-studio")
    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="prefroute-ls-e2e-")
    proc = None
    log_path = os.path.join(tmp, "label-studio.log")
    try:
        con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
        con.execute(f"LOAD '{os.path.abspath(args.extension)}'")
        q = lambda sql, *p: con.execute(sql, list(p)).fetchall()  # noqa: E731

        # The real workflow: human labels do not exist yet when routing happens.
        data = os.path.join(tmp, "pairs.parquet")
        q(f"COPY (SELECT * EXCLUDE (human_pref, human_pref_num, human_votes) FROM '{SOURCE}') TO '{data}'")
        routed = {r[0]: r[1] for r in q(
            f"SELECT id, label FROM route_instances('{data}', {BUDGET}) WHERE route = 'human'")}
        ai = dict(q(f"SELECT id, ai_pref FROM '{SOURCE}'"))
        judge = dict(q(f"SELECT id, ai_judge FROM '{SOURCE}'"))
        assert len(routed) == BUDGET, routed
        assert all(v is None for v in routed.values()), "routed rows of an unlabelled file have no label"

        tasks_path = os.path.join(tmp, "tasks.json")
        q(f"COPY (SELECT * FROM label_studio_tasks('{data}', {BUDGET})) TO '{tasks_path}' (FORMAT json, ARRAY true)")
        with open(tasks_path, "rb") as f:
            tasks_bytes = f.read()
        tasks = json.loads(tasks_bytes)
        assert sorted(t["data"]["id"] for t in tasks) == sorted(routed), "one task per routed instance"
        config = q("SELECT label_config FROM label_studio_config()")[0][0]

        # Start Label Studio on a copy of an initialised data dir (migrations, the user and its token: made
        # once by `label-studio init` into .cache/, ~30-70 s), so that each run starts in seconds.
        port = free_port()
        flags = ["--no-browser", "--internal-host", "127.0.0.1", "-p", str(port), "--enable-legacy-api-token"]
        ls_log = open(log_path, "wb")
        key = hashlib.sha256((USER + TOKEN).encode()).hexdigest()[:12]
        template = os.path.join(REPO, ".cache", "label-studio", f"1.23.2-{key}")
        if not os.path.exists(os.path.join(template, ".ready")):
            shutil.rmtree(template, ignore_errors=True)
            os.makedirs(template)
            t = time.monotonic()
            subprocess.run([label_studio, "init", *flags], env=ls_env(template), stdin=subprocess.DEVNULL,
                           stdout=ls_log, stderr=subprocess.STDOUT, check=True, timeout=600, cwd=tmp)
            open(os.path.join(template, ".ready"), "w").close()
            log(f"label-studio init (once, into {os.path.relpath(template, REPO)}): {time.monotonic() - t:.1f} s")
        data_dir = os.path.join(tmp, "ls-data")
        shutil.copytree(template, data_dir, symlinks=True)
        proc = subprocess.Popen([label_studio, "start", *flags], env=ls_env(data_dir),
                                stdin=subprocess.DEVNULL, stdout=ls_log, stderr=subprocess.STDOUT,
                                start_new_session=True, cwd=tmp)
        log(f"label-studio start: pid {proc.pid}, port {port}, healthy after {wait_health(port, proc, 300):.1f} s")
        api = Api(port)

        status, project = api.call("POST", "/api/projects", {"title": "prefroute e2e", "label_config": config})
        assert status == 201, (status, project)
        pid = project["id"]
        # The file prefroute wrote, byte for byte.
        status, imported = api.call("POST", f"/api/projects/{pid}/import", raw=tasks_bytes)
        assert status == 201, (status, imported)
        with_ai = sum(1 for i in routed if ai[i] is not None)
        assert imported["task_count"] == BUDGET and imported["prediction_count"] == with_ai, imported
        status, listed = api.call("GET", f"/api/tasks?project={pid}&fields=all&page_size=1000")
        ls_tasks = listed["tasks"] if isinstance(listed, dict) else listed
        by_id = {t["data"]["id"]: t for t in ls_tasks}
        assert sorted(by_id) == sorted(routed), sorted(by_id)
        for i, t in by_id.items():
            if ai[i] is not None:
                status, preds = api.call("GET", f"/api/predictions?task={t['id']}")
                assert len(preds) == 1, preds
                p = preds[0]
                assert p["result"][0]["value"]["choices"] == [ai[i]], (i, p)
                assert p["model_version"] == judge[i], (i, p["model_version"], judge[i])

        # Annotate as annotators would. Expected majority label per id; None = no label.
        ids = sorted(routed)
        plan = {
            ids[0]: ([[result_choice(other(ai[ids[0]]))]], other(ai[ids[0]])),  # disagrees with the judge
            ids[1]: ([[result_choice("tie")]], "tie"),  # a tie
            ids[2]: ([None], None),  # skipped
            ids[3]: ([[result_choice("A")], [result_choice("B")]], "tie"),  # two annotators who disagree
            ids[4]: ([[result_pairwise("right")], [result_choice("B")]], "B"),  # Pairwise shape + choices
            ids[5]: ([[result_choice(other(ai[ids[5]]))]], other(ai[ids[5]])),
        }
        for i, (annotations, _) in plan.items():
            for result in annotations:
                body = {"result": [], "was_cancelled": True} if result is None else {"result": result,
                                                                                    "lead_time": 3.5}
                status, _ = api.call("POST", f"/api/tasks/{by_id[i]['id']}/annotations/", body)
                assert status == 201, status

        status, export = api.call("GET", f"/api/projects/{pid}/export?exportType=JSON&download_all_tasks=true")
        export_path = os.path.join(tmp, "export.json")
        with open(export_path, "w") as f:
            json.dump(export, f)
        labels = {r[0]: r[1:] for r in q(
            f"SELECT id, human_pref, n_annotations, n_skipped, agreement FROM label_studio_labels('{export_path}')")}
        assert sorted(labels) == ids, labels
        for i, (annotations, want) in plan.items():
            n_skipped = sum(a is None for a in annotations)
            got = labels[i]
            assert got[0] == want and got[1] == len(annotations) - n_skipped and got[2] == n_skipped, (i, got, want)
        assert labels[ids[3]][3] == 0.0 and labels[ids[4]][3] == 1.0, labels

        labels_path = os.path.join(tmp, "labels.parquet")
        q(f"COPY (SELECT id, human_pref FROM label_studio_labels('{export_path}')) TO '{labels_path}'")
        try:
            q(f"SELECT * FROM hybrid_dataset('{data}', {BUDGET}, human_labels := '{labels_path}')")
            raise AssertionError("a routed instance without a human label must be an error by default")
        except duckdb.Error as e:
            assert f"1 instances routed to humans have no human label: '{ids[2]}'" in str(e), str(e)

        rows = q(f"SELECT id, chosen, rejected, label_source FROM hybrid_dataset('{data}', {BUDGET}, "
                 f"human_labels := '{labels_path}', on_missing_human := 'drop')")
        texts = {r[0]: (r[1], r[2]) for r in q(f"SELECT id, completion_a, completion_b FROM '{SOURCE}'")}
        got = {r[0]: r[1:] for r in rows}
        expected = {}
        for i in texts:
            label, source = (plan[i][1], "human") if i in routed else (ai[i], "ai")
            if label in ("A", "B"):
                expected[i] = source, label
        assert sorted(got) == sorted(expected), (sorted(got), sorted(expected))
        for i, (source, label) in expected.items():
            a, b = texts[i]
            want = (a, b, source) if label == "A" else (b, a, source)
            assert got[i] == want, (i, got[i][2], want[2])
        n_human = sum(1 for s in expected.values() if s[0] == "human")
        log(f"{len(rows)} hybrid rows: {n_human} human-labelled of {BUDGET} routed "
            f"(1 tie, 1 split vote, 1 skipped dropped), {len(rows) - n_human} AI-labelled")
        log(f"passed in {time.monotonic() - t0:.1f} s")
        return 0
    except BaseException:
        if os.path.exists(log_path):
            with open(log_path, "rb") as f:
                tail = f.read()[-4000:].decode(errors="replace")
            print(f"--- label-studio log (tail) ---\n{tail}", file=sys.stderr)
        raise
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
