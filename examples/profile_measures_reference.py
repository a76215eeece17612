"""Per-measure cost of the Python reference pipeline on one file, µs per row (best of 3):
ROUGE-1 (rouge-score, Porter stemmer), cl100k counts of the three texts (tiktoken) and
TF-IDF fit + cosine of the completions (scikit-learn). Prints one `name value` line per
measure, for examples/profile_measures.rs to put beside prefroute's own figures."""
import sys
import time

from bench_tag_reference import prepare_tiktoken_cache


def best_us_per_row(f, n: int) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - start)
    return best / n * 1e6


def main() -> None:
    prepare_tiktoken_cache()
    import numpy as np
    import pyarrow.parquet as pq
    import tiktoken
    from rouge_score import rouge_scorer
    from sklearn.feature_extraction.text import TfidfVectorizer

    t = pq.read_table(sys.argv[1], columns=["prompt", "completion_a", "completion_b"]).to_pydict()
    P, A, B = t["prompt"], t["completion_a"], t["completion_b"]
    n = len(P)
    enc = tiktoken.get_encoding("cl100k_base")
    scorer = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)

    def tfidf() -> None:
        v = TfidfVectorizer().fit(A + B)
        np.asarray(v.transform(A).multiply(v.transform(B)).sum(axis=1))

    print("rouge1", best_us_per_row(lambda: [scorer.score(b, a) for a, b in zip(A, B)], n))
    counts = lambda: [len(enc.encode_ordinary(x)) for x in P + A + B]  # noqa: E731
    print("tokens", best_us_per_row(counts, n))
    print("tfidf", best_us_per_row(tfidf, n))


if __name__ == "__main__":
    main()
