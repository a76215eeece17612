#!/usr/bin/env python3
"""Four threads tag and route the bundled files at once while a fifth interrupts queries at random.

usage: python3 tests/stress.py --python .venv/duckdb-1.5.6/bin/python \\
           --extension build/prefroute.duckdb_extension [--rounds 3] [--seed 1]

Each worker thread has its own cursor and runs a fixed list of prefroute queries (tagging, routing, the
budget curve, judge agreement) --rounds times; the interrupter picks a random cursor at random moments
and interrupts it. Every query that finishes must give exactly the single-threaded result (computed
first, alone); every one that does not must fail with DuckDB's "Interrupted"; the host must never abort
(it runs in a subprocess; a crash is reported with its signal).
"""

import argparse
import json
import sys

from host_process import run_host

PROBE = r"""
import json, random, sys, threading, time
import duckdb
ext, rounds, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
QUERIES = [
    "SELECT id, rouge, rouge_l, tfidf_cosine, entity_sim, prompt_len, tags FROM tag_instances('examples/data/llmbar.parquet') ORDER BY id",
    "SELECT id, tags, languages FROM tag_instances('examples/data/hh_rlhf_harmless_test.parquet', tfidf := false) ORDER BY id",
    "SELECT id, route, rank FROM route_instances('examples/data/llmbar.parquet', 0.37) ORDER BY id",
    "SELECT * FROM budget_curve('examples/data/pandalm_test.parquet', steps := 4) ORDER BY budget",
    "SELECT id, route FROM route_instances('examples/data/hh_rlhf_harmless_test.parquet', 0.2, strategy := 'topk') ORDER BY id",
    "SELECT * FROM judge_agreement('examples/data/llmbar.parquet', by := 'none')",
]
con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
con.execute("LOAD '" + ext.replace("'", "''") + "'")
expected = [con.execute(q).fetchall() for q in QUERIES]
cursors = [con.cursor() for _ in range(4)]
stats = {"finished": 0, "interrupted": 0, "problems": []}
lock = threading.Lock()
done = threading.Event()

def worker(w):
    cur = cursors[w]
    order = list(range(len(QUERIES))) * rounds
    random.Random(seed * 100 + w).shuffle(order)
    for i in order:
        try:
            got = cur.execute(QUERIES[i]).fetchall()
        except Exception as e:
            with lock:
                if "Interrupted" in str(e):
                    stats["interrupted"] += 1
                else:
                    stats["problems"].append(f"worker {w}, query {i}: {e}")
            continue
        with lock:
            stats["finished"] += 1
            if got != expected[i]:
                stats["problems"].append(f"worker {w}, query {i}: a result differs from the single-threaded one")

def interrupter():
    rng = random.Random(seed)
    while not done.is_set():
        time.sleep(rng.uniform(0.05, 1.5))
        rng.choice(cursors).interrupt()

workers = [threading.Thread(target=worker, args=(w,)) for w in range(4)]
chaos = threading.Thread(target=interrupter)
chaos.start()
for t in workers:
    t.start()
for t in workers:
    t.join()
done.set()
chaos.join()
# Every cursor still answers, with the right result.
after = [cur.execute(QUERIES[3]).fetchall() == expected[3] for cur in cursors]
stats["after_ok"] = all(after)
print(json.dumps(stats), flush=True)
"""


def main() -> int:
    ap = argparse.ArgumentParser(description="4 threads of prefroute queries under random interrupts")
    ap.add_argument("--python", required=True)
    ap.add_argument("--extension", required=True)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    proc, failure = run_host([args.python, "-c", PROBE, args.extension, str(args.rounds), str(args.seed)],
                             timeout=1800)
    if failure:
        print(failure)
        return 1
    stats = json.loads(proc.stdout.strip().splitlines()[-1])
    problems = stats["problems"] + ([] if stats["after_ok"] else ["a cursor gave a wrong result after the run"])
    if problems:
        print("FAIL  " + "\n      ".join(problems))
        return 1
    print(f"PASS  stress: {stats['finished']} queries finished with the single-threaded result, "
          f"{stats['interrupted']} interrupted, host alive, every cursor usable")
    return 0


if __name__ == "__main__":
    sys.exit(main())
