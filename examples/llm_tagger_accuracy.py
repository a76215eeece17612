#!/usr/bin/env python3
"""The LLM tagger beside the rule tagger on the 120 hand-labelled prompts of tests/data/descriptive_labels.tsv.

usage (from the repository root, with a server running):
  python3 examples/llm_tagger_accuracy.py --python .venv/duckdb-1.5.6/bin/python \\
      --extension build/prefroute.duckdb_extension --base-url http://127.0.0.1:8080/v1 --model MODEL
  # or let it start the tiny SmolLM2 llama-server of `make llm-server` itself:
  python3 examples/llm_tagger_accuracy.py --python .venv/duckdb-1.5.6/bin/python \\
      --extension build/prefroute.duckdb_extension --smollm2

The labels cover two fields, subject_of_expertise and safety_concern (the file's header gives the labelling
rule), so only those two are asked (`fields :=`); the metrics are those of examples/descriptive_prototypes.rs:
subject top-1 accuracy (the first subject is one of the labelled ones), subject set F1 (mean per prompt),
safety exact-level accuracy, and safety >= moderate precision / recall / F1. A field the LLM answered outside
the vocabulary (NULL, named in `missing`) counts as wrong. The rule tagger is `describe_prompt(prompt)`.
Replies are cached (--cache-dir), so a second run makes no requests.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

RUNNER = r"""
import duckdb, json, sys
ext, sql = sys.argv[1], sys.argv[2]
con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
con.execute("LOAD '" + ext.replace("'", "''") + "'")
print(json.dumps(con.execute(sql).fetchall(), default=str))
"""

LEVELS = ["safe", "low", "moderate", "high"]


def sql(args, query: str):
    proc = subprocess.run([args.python, "-c", RUNNER, os.path.abspath(args.extension), query],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"query failed: {proc.stderr[-3000:]}\n  in: {query}")
    if proc.stderr.strip():
        print(proc.stderr.strip().splitlines()[-1], file=sys.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def labelled(path: str):
    rows = []
    with open(path) as f:
        lines = [line.rstrip("\n") for line in f if not line.startswith("#")]
    for line in lines[1:]:
        file, id_, subjects, safety = line.split("\t")
        rows.append((file, id_, subjects.split(";"), safety))
    return rows


def metrics(labels, preds):
    n = len(labels)
    top1 = f1_sum = exact = 0.0
    tp = fp = fn = 0
    for (_, _, subjects, safety), (p_subjects, p_safety) in zip(labels, preds):
        p_subjects = p_subjects or []
        if p_subjects and p_subjects[0] in subjects:
            top1 += 1
        hit = sum(1 for s in p_subjects if s in subjects)
        if hit:
            prec, rec = hit / len(p_subjects), hit / len(subjects)
            f1_sum += 2 * prec * rec / (prec + rec)
        exact += p_safety == safety
        flagged = p_safety in ("moderate", "high")
        truth = safety in ("moderate", "high")
        tp += flagged and truth
        fp += flagged and not truth
        fn += truth and not flagged
    ratio = lambda a, b: a / b if b else float("nan")  # noqa: E731
    prec, rec = ratio(tp, tp + fp), ratio(tp, tp + fn)
    return [("subject top-1 accuracy", top1 / n), ("subject set F1 (mean per prompt)", f1_sum / n),
            ("safety exact-level accuracy", exact / n), ("safety >= moderate precision", prec),
            ("safety >= moderate recall", rec), ("safety >= moderate F1", ratio(2 * prec * rec, prec + rec))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", required=True, help="a Python with the duckdb package (a DuckDB host)")
    ap.add_argument("--extension", required=True)
    ap.add_argument("--base-url", help="the server's OpenAI base URL, http://HOST:PORT/v1")
    ap.add_argument("--model", help="the model name the server knows (llm_model :=)")
    ap.add_argument("--smollm2", action="store_true", help="start the tiny SmolLM2 llama-server of `make llm-server`")
    ap.add_argument("--max-concurrency", type=int, default=2)
    ap.add_argument("--cache-dir", default=".cache/prefroute/llm")
    args = ap.parse_args()
    server = None
    if args.smollm2:
        sys.path.insert(0, "tests")
        from llm_e2e import MODEL_NAME, Server, free_port
        server = Server(free_port(), os.path.join(tempfile.gettempdir(), "prefroute-accuracy-llama.log")).start()
        args.base_url, args.model = f"http://127.0.0.1:{server.port}/v1", MODEL_NAME
    if not (args.base_url and args.model):
        sys.exit("give --base-url and --model, or --smollm2")
    try:
        labels = labelled("tests/data/descriptive_labels.tsv")
        work = tempfile.mkdtemp(prefix="prefroute-accuracy-")
        keys = os.path.join(work, "keys.csv")
        with open(keys, "w") as f:
            f.write("k,file,id\n")
            for k, (file, id_, _, _) in enumerate(labels):
                f.write(f"{k},{file},{id_}\n")
        sample = os.path.join(work, "labelled.parquet")
        union = " UNION ALL ".join(
            f"SELECT '{name}' AS file, id, prompt, completion_a, completion_b FROM read_parquet('examples/data/{name}.parquet')"
            for name in sorted({l[0] for l in labels}))
        sql(args, f"COPY (SELECT k.k, d.file || '/' || d.id AS id, d.prompt, d.completion_a, d.completion_b "
                  f"FROM read_csv('{keys}', all_varchar := true) k JOIN ({union}) d ON d.file = k.file AND d.id = k.id "
                  f"ORDER BY k.k::INT) TO '{sample}' (FORMAT parquet)")
        rules = sql(args, f"SELECT d.subject_of_expertise, d.safety_concern FROM "
                          f"(SELECT describe_prompt(prompt) AS d, k FROM read_parquet('{sample}')) ORDER BY k::INT")
        t0 = time.time()
        llm = sql(args, f"SELECT subject_of_expertise, safety_concern, missing, error FROM describe_prompts('{sample}', "
                        f"base_url := '{args.base_url}', llm_model := '{args.model}', max_concurrency := {args.max_concurrency}, "
                        f"cache_dir := '{args.cache_dir}', fields := ['subject_of_expertise', 'safety_concern'], progress := true)")
        secs = time.time() - t0
        assert len(rules) == len(llm) == len(labels) == 120, (len(rules), len(llm), len(labels))
        m_rules, m_llm = metrics(labels, rules), metrics(labels, [row[:2] for row in llm])
        print(f"{len(labels)} hand-labelled prompts (tests/data/descriptive_labels.tsv); LLM tagger: model "
              f"{args.model!r} at {args.base_url}, {secs:.0f} s ({240 / secs:.2f} requests/s incl. cache hits)")
        print(f"{'':<36} {'rules':>8} {'LLM':>8}")
        for (name, r), (_, l) in zip(m_rules, m_llm):
            print(f"{name:<36} {r:>8.3f} {l:>8.3f}")
        subj_missing = sum("subject_of_expertise" in (row[2] or []) for row in llm)
        safety_missing = sum("safety_concern" in (row[2] or []) for row in llm)
        errors = sum(1 for row in llm if row[3])
        print(f"LLM answers outside the vocabulary (NULL, counted wrong): subject {subj_missing}, safety "
              f"{safety_missing}; rows with failed requests: {errors}")
        dist = {}
        for row in llm:
            dist[row[1]] = dist.get(row[1], 0) + 1
        firsts = {}
        for row in llm:
            first = (row[0] or [None])[0]
            firsts[first] = firsts.get(first, 0) + 1
        print(f"LLM safety_concern distribution: {dict(sorted(dist.items(), key=str))}")
        print(f"LLM first subjects, most common: {sorted(firsts.items(), key=lambda x: -x[1])[:5]}")
    finally:
        if server:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
