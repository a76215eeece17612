"""Renders prefroute's budget curve as a PNG (the README's picture).

usage: .venv/ref/bin/python examples/plot_budget_curve.py [dataset.parquet] [out.png] [--model M] [--steps N]

Runs `budget_curve` through DuckDB with the built extension (build/release/ if present, else build/)
and plots predicted score against the share of instances routed to humans, marking the best budget (★).
"""
import argparse
import os

import duckdb
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset", nargs="?", default="examples/data/llmbar.parquet")
    ap.add_argument("out", nargs="?", default="docs/budget_curve.png")
    ap.add_argument("--model", default="paper-prior")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--strategy", default="auto")
    args = ap.parse_args()
    ext = next(p for p in ("build/release/prefroute.duckdb_extension", "build/prefroute.duckdb_extension") if os.path.exists(p))
    con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
    con.execute(f"LOAD '{ext}'")
    rows = con.execute(
        "SELECT budget, n_human, predicted_score, best FROM budget_curve(?, model := ?, strategy := ?, steps := ?) ORDER BY budget",
        [args.dataset, args.model, args.strategy, args.steps],
    ).fetchall()
    budget = [r[0] * 100 for r in rows]
    score = [r[2] for r in rows]
    best = next(r for r in rows if r[3])
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    ax.plot(budget, score, marker="o", markersize=3, color="#1f77b4")
    ax.plot([best[0] * 100], [best[2]], marker="*", markersize=16, color="#d62728", linestyle="none",
            label=f"best: {best[0]:.0%} human ({best[1]} instances)")
    ax.set_xlabel("instances routed to humans (%)")
    ax.set_ylabel(f"predicted score ({args.model})")
    ax.set_title(f"budget_curve('{os.path.basename(args.dataset)}', strategy := '{args.strategy}')")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    fig.savefig(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
