#!/usr/bin/env python3
"""The relation form against the path functions, through a real DuckDB host (run by `make test` on
every host: DuckDB 1.5.6 and 2.0.1).

The path functions (`tag_instances`, `risk_fit`, `route_instances`) read a Parquet file with prefroute's
own reader; the relation form (`pref_stats`, `pref_tags`, `risk_model`, `risk_score`) runs inside
DuckDB's query over any relation. Both call the same core, so on the same rows they must agree:

1. Every bundled file: `pref_tags` with the `pref_stats` of the whole relation equals `tag_instances`
   in every column, every row, to the bit (floats compared exactly; NULL = NULL).
2. Sharding: the stats of two halves merged with `pref_stats_merge` are byte-identical to the stats
   of the whole, and tags computed with the merged stats equal `tag_instances` on the whole.
3. The same pairs held as (a) a pandas DataFrame referenced by name, (b) a TEMP table inside an open
   transaction with rows not yet committed, (c) a CSV read with `read_csv`, (d) a JSONL file read with
   `read_json`, (e) a table in a `.duckdb` file: tagged, a judge-error model fitted with
   `risk_model` (coefficients equal to `risk_fit`'s on the file within 1e-9), scored with
   `risk_score` (equal to `route_instances`' gain) and routed with the README's QUALIFY query (the same
   ids as `route_instances(…, model := …)`).
4. Extra numeric columns: `risk_model` and `risk_score` with an `extra` STRUCT equal `risk_fit(path,
   extra := […])` and `route_instances` on a file that has those columns; a missing or non-numeric
   field is an error naming it.

Usage: <host python> tests/relation_e2e.py --extension build/prefroute.duckdb_extension
"""

import argparse
import json
import os
import sys
import tempfile

import duckdb
import pandas as pd

FILES = ["examples/data/llmbar.parquet", "examples/data/pandalm_test.parquet",
         "examples/data/hh_rlhf_harmless_test.parquet"]
BUDGET = 0.25
FAILURES = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        FAILURES.append(what)


def connect(ext, database=":memory:"):
    con = duckdb.connect(database, config={"allow_unsigned_extensions": "true"})
    con.execute(f"LOAD '{ext}'")
    con.execute("SET threads = 2")
    return con


def value_columns(con):
    """tag_instances' columns after id."""
    cols = [r[0] for r in con.execute(
        f"DESCRIBE SELECT * FROM tag_instances('{FILES[0]}', tfidf := false) LIMIT 0").fetchall()]
    assert cols[0] == "id", cols
    return cols[1:]


def differing_rows(con, want, got, cols):
    """Rows of table `want` (id + cols) and `got` (id, t STRUCT) that differ in any column, or exist in
    one only."""
    cond = " OR ".join(f'w."{c}" IS DISTINCT FROM g.t."{c}"' for c in cols)
    return con.execute(f"""
        SELECT count(*) FROM {want} w FULL JOIN {got} g ON w.id = g.id
        WHERE w.id IS NULL OR g.id IS NULL OR {cond}""").fetchone()[0]


def tags_of(relation):
    """The relation form's tags of `relation` (a FROM item with id, prompt, completion_a, completion_b)."""
    return f"""
        WITH src AS (SELECT * FROM {relation}),
             s AS (SELECT pref_stats(prompt, completion_a, completion_b) AS stats FROM src)
        SELECT id, pref_tags(prompt, completion_a, completion_b, (SELECT stats FROM s)) AS t FROM src"""


def check_files(con, cols):
    for f in FILES:
        con.execute(f"CREATE OR REPLACE TEMP TABLE want AS SELECT * FROM tag_instances('{f}')")
        con.execute(f"CREATE OR REPLACE TEMP TABLE got AS {tags_of(f'read_parquet({f!r})')}")
        n = con.execute("SELECT count(*) FROM got").fetchone()[0]
        bad = differing_rows(con, "want", "got", cols)
        check(n > 0 and bad == 0, f"{f}: pref_tags = tag_instances on all {n} rows, every column ({bad} differ)")


def check_shards(con, cols):
    f = FILES[0]
    src = f"read_parquet('{f}')"
    whole, merged, swapped = con.execute(f"""
        WITH a AS (SELECT pref_stats(prompt, completion_a, completion_b) s FROM {src} WHERE hash(id) % 2 = 0),
             b AS (SELECT pref_stats(prompt, completion_a, completion_b) s FROM {src} WHERE hash(id) % 2 = 1)
        SELECT (SELECT pref_stats(prompt, completion_a, completion_b) FROM {src}),
               pref_stats_merge((SELECT s FROM a), (SELECT s FROM b)),
               pref_stats_merge((SELECT s FROM b), (SELECT s FROM a))""").fetchone()
    check(whole == merged == swapped and len(whole) > 1000,
          f"{f}: stats of two halves merged = stats of the whole, byte for byte ({len(whole)} bytes)")
    con.execute(f"CREATE OR REPLACE TEMP TABLE want AS SELECT * FROM tag_instances('{f}')")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE got AS
        WITH a AS (SELECT pref_stats(prompt, completion_a, completion_b) s FROM {src} WHERE hash(id) % 2 = 0),
             b AS (SELECT pref_stats(prompt, completion_a, completion_b) s FROM {src} WHERE hash(id) % 2 = 1),
             m AS (SELECT pref_stats_merge((SELECT s FROM a), (SELECT s FROM b)) AS s)
        SELECT id, pref_tags(prompt, completion_a, completion_b, (SELECT s FROM m)) AS t FROM {src}""")
    bad = differing_rows(con, "want", "got", cols)
    check(bad == 0, f"{f}: tags with the merged stats of two shards = tag_instances on the whole ({bad} differ)")


def route_query(relation, model_sql, k):
    """The README's budgeted routing over a relation: the k likeliest judge errors, ties to the
    earlier row (`row_idx`), as route_instances breaks them."""
    return f"""
        WITH src AS (SELECT * FROM {relation}),
             s AS (SELECT pref_stats(prompt, completion_a, completion_b) AS stats FROM src),
             scored AS (
               SELECT id, row_idx,
                      risk_score({model_sql}, pref_tags(prompt, completion_a, completion_b, (SELECT stats FROM s)),
                                 ai_pref, ai_pref_alt) AS p
               FROM src)
        SELECT id, p FROM scored
        QUALIFY row_number() OVER (ORDER BY p DESC, row_idx) <= {k}"""


def check_relations(ext, cols, tmp):
    f = FILES[0]
    con = connect(ext)
    model_file = os.path.join(tmp, "risk.json")
    fit = con.execute(f"SELECT model_json FROM risk_fit('{f}', save := '{model_file}')").fetchone()[0]
    path_model = json.loads(fit)
    n = con.execute(f"SELECT count(*) FROM read_parquet('{f}')").fetchone()[0]
    k = round(BUDGET * n)
    # Under a judge-error model route_instances' gain is p / n (the row's share of the expected errors).
    want = dict(con.execute(
        f"SELECT id, gain * {n} FROM route_instances('{f}', {BUDGET}, model := '{model_file}') WHERE route = 'human'"
    ).fetchall())
    check(len(want) == k, f"route_instances routes {k} of {n} to humans")
    con.execute(f"CREATE OR REPLACE TEMP TABLE want AS SELECT * FROM tag_instances('{f}')")
    base = f"SELECT *, file_row_number AS row_idx FROM read_parquet('{f}', file_row_number := true)"

    df = con.execute(base).df()  # (a) a pandas DataFrame, referenced by name below
    assert isinstance(df, pd.DataFrame)
    csv = os.path.join(tmp, "pairs.csv")
    jsonl = os.path.join(tmp, "pairs.jsonl")
    con.execute(f"COPY ({base}) TO '{csv}' (HEADER)")
    con.execute(f"COPY ({base}) TO '{jsonl}' (FORMAT json)")
    db = os.path.join(tmp, "pairs.duckdb")
    con.execute(f"ATTACH '{db}' AS store")
    con.execute(f"CREATE TABLE store.pairs AS {base}")
    con.execute("BEGIN")  # (b) rows not yet committed, in a TEMP table
    con.execute(f"CREATE TEMP TABLE pending AS {base} LIMIT 0")
    con.execute(f"INSERT INTO pending {base}")
    relations = {
        "pandas DataFrame": "df",
        "TEMP table, uncommitted rows": "pending",
        "CSV (read_csv)": f"read_csv('{csv}')",
        "JSONL (read_json)": f"read_json('{jsonl}')",
        ".duckdb file table": "store.pairs",
    }
    for name, rel in relations.items():
        con.execute(f"CREATE OR REPLACE TEMP TABLE got AS {tags_of(rel)}")
        bad = differing_rows(con, "want", "got", cols)
        check(bad == 0, f"{name}: pref_tags = tag_instances on the file ({bad} rows differ)")
        model_json = con.execute(f"""
            WITH src AS (SELECT * FROM {rel}),
                 s AS (SELECT pref_stats(prompt, completion_a, completion_b) AS stats FROM src)
            SELECT risk_model(id, pref_tags(prompt, completion_a, completion_b, (SELECT stats FROM s)),
                              human_pref, ai_pref, ai_pref_alt, NULL)
            FROM src""").fetchone()[0]
        m = json.loads(model_json)
        same_features = m["features"] == path_model["features"]
        worst = max(abs(a - b) for a, b in zip(m["coef"] + [m["intercept"]],
                                               path_model["coef"] + [path_model["intercept"]]))
        check(same_features and worst < 1e-9,
              f"{name}: risk_model = risk_fit(path): {len(m['features'])} features, max |Δcoef| {worst:.1e}")
        got = dict(con.execute(route_query(rel, f"'{model_file}'", k)).fetchall())
        dp = max((abs(got[i] - want[i]) for i in want if i in got), default=float("inf"))
        check(set(got) == set(want) and dp < 1e-12,
              f"{name}: the QUALIFY routing = route_instances' {k} human ids (max |Δp| {dp:.1e})")
    con.execute("ROLLBACK")
    con.close()


def check_extra(ext, tmp):
    """Extra numeric columns (`extra := […]` of the path form) as the fields of a STRUCT argument."""
    f = os.path.join(tmp, "extra.parquet")
    con = connect(ext)
    con.execute(f"""COPY (SELECT *, CASE WHEN hash(id) % 11 = 0 THEN NULL ELSE (hash(id) % 7)::INTEGER END AS votes,
                                 strlen(completion_a) / (1.0 + strlen(completion_b)) AS margin
                          FROM read_parquet('{FILES[0]}')) TO '{f}' (FORMAT parquet)""")
    model_file = os.path.join(tmp, "risk_extra.json")
    path_model = json.loads(con.execute(
        f"SELECT model_json FROM risk_fit('{f}', extra := ['votes', 'margin'], save := '{model_file}')").fetchone()[0])
    src = f"(SELECT *, file_row_number AS row_idx FROM read_parquet('{f}', file_row_number := true))"
    want = dict(zip(path_model["features"], path_model["coef"]))
    # The STRUCT's fields name the extra features; their order does not matter (the fit's optimum is
    # unique, and the solver runs to it).
    for fields, tol in [("{'votes': votes, 'margin': margin}", 1e-9), ("{'margin': margin, 'votes': votes}", 1e-9)]:
        m = json.loads(con.execute(f"""
            WITH s AS (SELECT pref_stats(prompt, completion_a, completion_b) AS stats FROM {src} x)
            SELECT risk_model(id, pref_tags(prompt, completion_a, completion_b, (SELECT stats FROM s)),
                              human_pref, ai_pref, ai_pref_alt, NULL, '{{}}', {fields})
            FROM {src} y""").fetchone()[0])
        got = dict(zip(m["features"], m["coef"]))
        worst = max([abs(want[k] - got[k]) for k in want if k in got]
                    + [abs(m["intercept"] - path_model["intercept"])])
        check(set(want) == set(got) and {"votes", "margin"} <= set(got) and worst < tol,
              f"risk_model(…, {fields}) = risk_fit(path, extra := ['votes', 'margin']): {len(got)} features, "
              f"max |Δcoef| {worst:.1e} (< {tol:g})")
    n = con.execute(f"SELECT count(*) FROM read_parquet('{f}')").fetchone()[0]
    k = round(BUDGET * n)
    routed = dict(con.execute(
        f"SELECT id, gain * {n} FROM route_instances('{f}', {BUDGET}, model := '{model_file}') WHERE route = 'human'"
    ).fetchall())
    got_ids = dict(con.execute(f"""
        WITH s AS (SELECT pref_stats(prompt, completion_a, completion_b) AS stats FROM {src} x),
             scored AS (SELECT id, row_idx,
                               risk_score('{model_file}', pref_tags(prompt, completion_a, completion_b, (SELECT stats FROM s)),
                                          ai_pref, ai_pref_alt, NULL, {{'votes': votes, 'margin': margin}}) AS p
                        FROM {src} y)
        SELECT id, p FROM scored QUALIFY row_number() OVER (ORDER BY p DESC, row_idx) <= {k}""").fetchall())
    dp = max((abs(got_ids[i] - routed[i]) for i in routed if i in got_ids), default=float("inf"))
    check(set(got_ids) == set(routed) and dp < 1e-12,
          f"risk_score with an extra STRUCT routes route_instances' {k} human ids (max |Δp| {dp:.1e})")
    tags = f"pref_tags(prompt, completion_a, completion_b, (SELECT pref_stats(prompt, completion_a, completion_b) FROM {src} x))"
    for args, needle in [("", "no extra argument"), (", NULL, {'votes': votes}", "'margin'"),
                         (", NULL, {'votes': votes, 'margin': id}", "not a number")]:
        try:
            con.execute(f"SELECT risk_score('{model_file}', {tags}, ai_pref, ai_pref_alt{args}) FROM {src} y").fetchall()
            check(False, f"risk_score(… {args or 'without extra'}) is an error")
        except duckdb.Error as e:
            check("risk_score" in str(e) and needle in str(e), f"risk_score(… {args or 'without extra'}): {str(e)[:110]}")
    con.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--extension", required=True)
    args = ap.parse_args()
    print(f"relation_e2e on DuckDB {duckdb.__version__}", flush=True)
    con = connect(args.extension)
    cols = value_columns(con)
    check_files(con, cols)
    check_shards(con, cols)
    con.close()
    with tempfile.TemporaryDirectory() as tmp:
        check_relations(args.extension, cols, tmp)
        check_extra(args.extension, tmp)
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed", flush=True)
        sys.exit(1)
    print("all relation checks passed", flush=True)


if __name__ == "__main__":
    main()
