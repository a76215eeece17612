#!/usr/bin/env python3
"""The Ray job (python/prefroute_ray) against one DuckDB process and the path functions, on a local 2-CPU Ray
cluster (run by `make ray-test` with .venv/ray: ray[data] 2.60.0, DuckDB 1.5.6).

1. Identity. Each bundled file, split into several slices and tagged, judge-scored (with a model risk_fit
   fitted on a 200-row seed of llmbar) and routed by two Ray actors: `tags.parquet` and `routing.parquet` are
   byte-identical to the files the same job writes in one DuckDB process (`run_local`), every tag column
   equals `tag_instances` on the file (floats compared exactly, NULL = NULL), and the human-routed ids equal
   `route_instances(…, model := …)`'s, with p = its gain × n. llmbar with the extension shipped through
   runtime_env's working_dir, pandalm read from its path (shared storage) and as two files (a glob), hh-rlhf (no AI labels: tagged
   only) in test 2. With the embedding model, llmbar's 8 shortest pairs (the debug build embeds slowly), the
   embedding measures too.
2. A killed worker. During the tagging pass of hh-rlhf (58 slices) one actor's process is killed by its PID
   (SIGKILL); Ray restarts it and retries its slices; the output is complete, byte-identical to the
   reference and equal to tag_instances.
3. Missing files. A missing extension file or model directory is an error from the driver before any actor
   starts (within a second, naming the path and the fix), also from the CLI (exit 2); an extension file
   that a worker cannot find (shared storage without it) fails the job within seconds with the worker's
   message, instead of hanging.

Every test runs under a watchdog (faulthandler): a hang dumps the stacks and fails the run.

Usage: .venv/ray/bin/python tests/ray_e2e.py --extension build/prefroute.duckdb_extension [--model-dir DIR]
"""

import argparse
import faulthandler
import glob
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

os.environ["RAY_AUTH_MODE"] = "disabled"
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"

import duckdb  # noqa: E402
import ray  # noqa: E402

from prefroute_ray.job import JobError, JobSpec, RayOptions, run_local, run_ray  # noqa: E402

FILES = ["examples/data/llmbar.parquet", "examples/data/pandalm_test.parquet",
         "examples/data/hh_rlhf_harmless_test.parquet"]
BUDGET = 0.25
FAILURES = []
TEST_TIMEOUT = 240  # seconds, per test: a hang guard (each takes 10–60 s on a quiet 2-core machine)


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        FAILURES.append(what)


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def connect(ext):
    con = duckdb.connect(config={"allow_unsigned_extensions": "true", "threads": 2})
    con.execute(f"LOAD '{ext}'")
    return con


def fit_model(ext, tmp):
    """The judge-error model the job scores with: risk_fit on a 200-row seed of llmbar (folds := 2, to keep
    the debug build quick), as the README's workflow fits one on a human-labelled seed."""
    seed = os.path.join(tmp, "seed.parquet")
    model = os.path.join(tmp, "risk.json")
    con = connect(ext)
    con.execute(f"COPY (SELECT * FROM '{FILES[0]}' LIMIT 200) TO '{seed}'")
    con.execute(f"SELECT * FROM risk_fit('{seed}', folds := 2, save := '{model}')").fetchall()
    con.close()
    return model


def against_path(ext, path, out, model, model_dir=None, route=True):
    """The Ray job's files against tag_instances and route_instances on the same file."""
    con = connect(ext)
    opts = f", model_dir := '{model_dir}'" if model_dir else ""
    con.execute(f"CREATE TEMP TABLE want AS SELECT * FROM tag_instances('{path}'{opts})")
    cols = [r[0] for r in con.execute("DESCRIBE want").fetchall()]
    got_cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM '{out}/tags.parquet'").fetchall()]
    check(got_cols[:len(cols)] == cols, f"{path}: tags.parquet has tag_instances' columns, in order (+ {got_cols[len(cols):]})")
    cond = " OR ".join(f'w."{c}" IS DISTINCT FROM g."{c}"' for c in cols)
    n, bad = con.execute(f"""SELECT count(*), count(*) FILTER (WHERE w.id IS NULL OR g.id IS NULL OR {cond})
        FROM want w FULL JOIN '{out}/tags.parquet' g ON w.id = g.id""").fetchone()
    measured = con.execute(f"SELECT count(cosine_sim), count(bertscore) FROM '{out}/tags.parquet'").fetchone()
    check(n > 0 and bad == 0, f"{path}: every tag column = tag_instances on all {n} rows ({bad} differ; "
                              f"{measured[0]} cosine_sim, {measured[1]} bertscore non-NULL)")
    if model_dir:
        check(measured[0] == n and measured[1] == n, f"{path}: the embedding measures are computed on every row")
    if model is None or not route:
        return
    want = dict(con.execute(f"""SELECT id, gain * {n} FROM route_instances('{path}', {BUDGET}, model := '{model}')
                                WHERE route = 'human'""").fetchall())
    got = dict(con.execute(f"SELECT id, p FROM '{out}/routing.parquet' WHERE route = 'human'").fetchall())
    dp = max((abs(got[i] - want[i]) for i in want if i in got), default=float("inf"))
    check(len(want) > 0 and set(got) == set(want) and dp < 1e-12,
          f"{path}: the {len(got)} human-routed ids = route_instances' {len(want)} (max |Δp| {dp:.1e})")
    con.close()


def reference(ext, path, model, tmp, model_dir=None):
    out = os.path.join(tmp, "ref-" + os.path.basename(path))
    run_local(JobSpec(inputs=[path], extension=ext, out_dir=out, risk_model=model, budget=BUDGET if model else None,
                      model_dir=model_dir))
    return out


def same_files(out, ref, what):
    for f in ("tags.parquet", "routing.parquet") if os.path.exists(os.path.join(ref, "routing.parquet")) else ("tags.parquet",):
        a, b = os.path.join(out, f), os.path.join(ref, f)
        check(os.path.isfile(a) and sha(a) == sha(b), f"{what}: {f} byte-identical to one DuckDB process")


def split_in_two(path, tmp):
    """The file as two files (rows 0–499, then the rest), named so that they sort in that order."""
    parts = [os.path.join(tmp, f"split-{i}.parquet") for i in (1, 2)]
    con = duckdb.connect()
    src = f"SELECT * EXCLUDE (file_row_number) FROM read_parquet('{path}', file_row_number := true)"
    con.execute(f"COPY ({src} WHERE file_row_number < 500 ORDER BY file_row_number) TO '{parts[0]}'")
    con.execute(f"COPY ({src} WHERE file_row_number >= 500 ORDER BY file_row_number) TO '{parts[1]}'")
    con.close()
    return parts


def test_identity(ext, tmp, model, files, ship, split=False):
    """With ship='working_dir' run_ray starts its own local cluster (Ray takes a working_dir only then).
    With split, the Ray job reads the file as two files (one dataset, rows in file order) and must still
    write what one DuckDB process writes from the single file."""
    for path in files:
        ref = reference(ext, path, model, tmp)
        out = os.path.join(tmp, "ray-" + os.path.basename(path))
        inputs = [os.path.join(tmp, "split-*.parquet")] if split else [path]
        if split:
            split_in_two(path, tmp)
        t = time.monotonic()
        s = run_ray(JobSpec(inputs=inputs, extension=ext, out_dir=out, risk_model=model, budget=BUDGET,
                            slice_rows=150), RayOptions(workers=2, num_cpus=2, ship=ship, progress=False))
        print(f"     {path}{' as two files' if split else ''}: {s['slices']} slices on {s['workers']} actors ({ship}), "
              f"{time.monotonic() - t:.1f} s ({', '.join(f'{k} {v:.1f}' for k, v in s['timings'].items())})",
              flush=True)
        check(s["slices"] >= 5 and len(s["worker_pids"]) == 2,
              f"{path}: {s['slices']} slices tagged by {len(s['worker_pids'])} actor processes")
        same_files(out, ref, f"{path} (ship {ship}{', read as two files' if split else ''})")
        against_path(ext, path, out, model)


def test_embedding(ext, tmp, model, model_dir):
    if not model_dir:
        check(False, "the embedding case needs --model-dir (make model)")
        return
    # The embedding measures: the 8 shortest pairs of llmbar (the debug build embeds slowly: BERTScore grows
    # with the product of the completions' lengths), to stay within the time limit.
    cut = os.path.join(tmp, "llmbar8.parquet")
    con = duckdb.connect()
    con.execute(f"""COPY (SELECT * FROM '{FILES[0]}'
                          ORDER BY length(prompt) + length(completion_a) + length(completion_b), id LIMIT 8)
                    TO '{cut}'""")
    con.close()
    ref = reference(ext, cut, model, tmp, model_dir=model_dir)
    out = os.path.join(tmp, "ray-embed")
    t = time.monotonic()
    s = run_ray(JobSpec(inputs=[cut], extension=ext, out_dir=out, risk_model=model, budget=BUDGET,
                        model_dir=model_dir, slice_rows=2), RayOptions(workers=2, ship="shared", progress=False))
    print(f"     embeddings: {s['slices']} slices, {time.monotonic() - t:.1f} s", flush=True)
    same_files(out, ref, "llmbar, 8 rows, with the embedding model")
    against_path(ext, cut, out, model, model_dir=model_dir, route=False)


def tag_actor_pids():
    """PIDs of the live processes of the tagging pass's actors (Ray titles them after the class)."""
    pids = []
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(os.path.join(d, "cmdline"), "rb") as f:
                cmd = f.read().decode(errors="replace")
        except OSError:
            continue
        if "MapBatches(TagPass)" in cmd and cmd.startswith("ray::"):
            pids.append(int(os.path.basename(d)))
    return sorted(pids)


def test_killed_worker(ext, tmp):
    """Also the identity test of hh-rlhf (no AI labels: tagged, not scored)."""
    path = FILES[2]
    model = None
    ref = reference(ext, path, model, tmp)
    out = os.path.join(tmp, "ray-killed")
    started = threading.Event()
    parts = {}

    def on_pass(name, parts_dir):
        if name == "tags":
            parts["dir"] = parts_dir
            started.set()

    result = {}

    def job():
        try:
            result["summary"] = run_ray(
                JobSpec(inputs=[path], extension=ext, out_dir=out, risk_model=model, budget=BUDGET if model else None, slice_rows=40),
                RayOptions(workers=2, ship="shared", progress=False), on_pass=on_pass)
        except Exception as e:  # noqa: BLE001 - reported as a failure below
            result["error"] = e

    th = threading.Thread(target=job, daemon=True)
    th.start()
    check(started.wait(90), "the tagging pass started")
    n_slices = -(-2312 // 40)
    killed = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and th.is_alive():
        done = len(glob.glob(os.path.join(parts.get("dir", "/nonexistent"), "part-*.parquet")))
        pids = tag_actor_pids()
        if done >= 1 and pids:
            killed, done_at_kill, live = pids[0], done, pids
            os.kill(killed, signal.SIGKILL)
            break
        time.sleep(0.01)
    check(killed is not None, f"killed one tagging actor by its PID mid-job ({killed}, of live actors "
                              f"{live if killed else '-'}, after {done_at_kill if killed else '-'} of {n_slices} slices)")
    th.join(TEST_TIMEOUT)
    check(not th.is_alive(), "the job finished after the kill")
    if "error" in result:
        check(False, f"the job failed after the kill: {result['error']!r}")
        return
    s = result["summary"]
    check(killed is not None and done_at_kill < n_slices, f"the kill landed before the last slice "
                                                          f"({done_at_kill if killed else '-'} of {n_slices} written)")
    restarted = sorted(set(s["worker_pids"]) - set(live)) if killed else []
    print(f"     slices written by PIDs {s['worker_pids']}; after the kill, by new process(es) {restarted}",
          flush=True)
    check(s["rows"] == 2312 and s["slices"] == n_slices, f"complete: {s['rows']} rows from {s['slices']} slices")
    same_files(out, ref, f"{path} with a worker killed")
    against_path(ext, path, out, model)


def test_missing_on_driver(ext, tmp, model_dir):
    missing_ext = os.path.join(tmp, "nowhere", "prefroute.duckdb_extension")
    t = time.monotonic()
    try:
        run_ray(JobSpec(inputs=[FILES[0]], extension=missing_ext, out_dir=os.path.join(tmp, "x")), RayOptions())
        check(False, "a missing extension file is an error")
    except JobError as e:
        dt = time.monotonic() - t
        check(missing_ext in str(e) and "make build" in str(e) and dt < 1,
              f"missing extension: error on the driver in {dt:.2f} s: {e}")
    if model_dir:
        t = time.monotonic()
        try:
            run_ray(JobSpec(inputs=[FILES[0]], extension=ext, out_dir=os.path.join(tmp, "x"),
                            model_dir=os.path.join(tmp, "no-model")), RayOptions())
            check(False, "a missing model directory is an error")
        except JobError as e:
            dt = time.monotonic() - t
            check("no-model" in str(e) and "setup_python.sh model" in str(e) and dt < 1,
                  f"missing model directory: error on the driver in {dt:.2f} s: {e}")
    junk_dir = os.path.join(tmp, "junk")
    os.makedirs(junk_dir)
    junk = os.path.join(junk_dir, "prefroute.duckdb_extension")
    with open(junk, "wb") as f:
        f.write(b"not an extension" * 64)
    t = time.monotonic()
    try:
        run_ray(JobSpec(inputs=[FILES[0]], extension=junk, out_dir=os.path.join(tmp, "x")), RayOptions())
        check(False, "a file that is not an extension is an error")
    except JobError as e:
        dt = time.monotonic() - t
        check("cannot load" in str(e) and junk in str(e) and not ray.is_initialized() and dt < 2,
              f"not an extension: error on the driver in {dt:.2f} s, Ray not started: {str(e)[:160]}")
    cli = subprocess.run([sys.executable, "-m", "prefroute_ray", "tag", FILES[0], "--extension", missing_ext,
                          "--out", os.path.join(tmp, "x")], capture_output=True, text=True, timeout=60)
    check(cli.returncode == 2 and missing_ext in cli.stderr and "Traceback" not in cli.stderr,
          f"CLI: exit {cli.returncode}, {cli.stderr.strip()!r}")


def test_missing_on_worker(ext, tmp):
    # Shared storage without the file on a worker's node: the driver saw it, the worker does not.
    gone = os.path.join(tmp, "gone")
    os.makedirs(gone)
    copy = os.path.join(gone, "prefroute.duckdb_extension")
    os.link(ext, copy) if os.stat(ext).st_dev == os.stat(gone).st_dev else shutil.copy(ext, copy)

    def remove(name, parts_dir):
        if os.path.exists(copy):
            os.remove(copy)

    t = time.monotonic()
    try:
        run_ray(JobSpec(inputs=[FILES[0]], extension=copy, out_dir=os.path.join(tmp, "y")),
                RayOptions(workers=2, ship="shared", progress=False), on_pass=remove)
        check(False, "an extension file missing on the workers is an error")
    except Exception as e:  # noqa: BLE001 - Ray wraps the worker's error in its own type
        dt = time.monotonic() - t
        check("does not exist on this node" in str(e) and dt < 60,
              f"extension missing on the workers: {type(e).__name__} after {dt:.1f} s, with the worker's message")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--extension", required=True)
    ap.add_argument("--model-dir")
    ap.add_argument("--only", help="run only the tests whose name contains this")
    args = ap.parse_args()
    ext = os.path.abspath(args.extension)
    model_dir = os.path.abspath(args.model_dir) if args.model_dir else None
    print(f"ray_e2e on ray {ray.__version__}, DuckDB {duckdb.__version__}", flush=True)
    t0 = time.monotonic()

    def run(name, fn):
        if args.only and args.only not in name:
            return
        # A hang fails: the stacks are dumped and the process exits (Ray's own processes share its fate).
        faulthandler.dump_traceback_later(TEST_TIMEOUT, exit=True)
        t = time.monotonic()
        fn()
        faulthandler.cancel_dump_traceback_later()
        print(f"---- {name}: {time.monotonic() - t:.1f} s", flush=True)

    with tempfile.TemporaryDirectory(prefix="prefroute-ray-test-") as tmp:
        run("missing on the driver", lambda: test_missing_on_driver(ext, tmp, model_dir))
        model = fit_model(ext, tmp) if not args.only or "identity" in args.only else None
        # The extension shipped with runtime_env's working_dir, on a local cluster run_ray starts.
        run("identity, working_dir", lambda: test_identity(ext, tmp, model, FILES[:1], "working_dir"))
        # The rest on one session started here; the extension read at its path (shared storage).
        session_tests = {
            "identity, shared": lambda: test_identity(ext, tmp, model, FILES[1:2], "shared", split=True),
            "identity, embeddings": lambda: test_embedding(ext, tmp, model, model_dir),
            "killed worker": lambda: test_killed_worker(ext, tmp),
            "missing on a worker": lambda: test_missing_on_worker(ext, tmp),
        }
        if any(not args.only or args.only in name for name in session_tests):
            session = tempfile.mkdtemp(prefix="prr-", dir="/tmp")  # short: Ray's socket paths live below it
            ray.init(num_cpus=2, include_dashboard=False, _temp_dir=session, log_to_driver=False)
            try:
                for name, fn in session_tests.items():
                    run(name, fn)
            finally:
                ray.shutdown()
                shutil.rmtree(session, ignore_errors=True)
    print(f"ray_e2e: {time.monotonic() - t0:.1f} s", flush=True)
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed", flush=True)
        sys.exit(1)
    print("all ray checks passed", flush=True)


if __name__ == "__main__":
    main()
