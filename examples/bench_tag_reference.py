"""The Python reference pipeline for the tagging benchmark: ROUGE-1 (rouge-score,
Porter stemmer), cl100k token counts of prompt and completions (tiktoken), and
TF-IDF cosine of the completions (scikit-learn), on every row of one file.
Prints instances per second (best of 3). tiktoken's table is taken from the
tiktoken-rs crate source that cargo already downloaded, so nothing is fetched."""
import glob
import hashlib
import os
import shutil
import sys
import tempfile
import time


def prepare_tiktoken_cache() -> None:
    url = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
    cache = os.path.join(tempfile.gettempdir(), "prefroute-tiktoken-cache")
    os.makedirs(cache, exist_ok=True)
    target = os.path.join(cache, hashlib.sha1(url.encode()).hexdigest())
    if not os.path.exists(target):
        home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
        found = glob.glob(os.path.join(home, "registry/src/*/tiktoken-rs-*/assets/cl100k_base.tiktoken"))
        if not found:
            raise SystemExit("cl100k_base.tiktoken not found in the cargo registry; build prefroute first")
        shutil.copy(found[0], target)
    os.environ["TIKTOKEN_CACHE_DIR"] = cache


def main() -> None:
    prepare_tiktoken_cache()
    import numpy as np
    import pyarrow.parquet as pq
    import tiktoken
    from rouge_score import rouge_scorer
    from sklearn.feature_extraction.text import TfidfVectorizer

    t = pq.read_table(sys.argv[1], columns=["prompt", "completion_a", "completion_b"]).to_pydict()
    P, A, B = t["prompt"], t["completion_a"], t["completion_b"]
    enc = tiktoken.get_encoding("cl100k_base")
    scorer = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        rouge = [scorer.score(b, a)["rouge1"].fmeasure for a, b in zip(A, B)]
        lens = [(len(enc.encode_ordinary(p)), len(enc.encode_ordinary(a)), len(enc.encode_ordinary(b))) for p, a, b in zip(P, A, B)]
        v = TfidfVectorizer().fit(A + B)
        cos = np.asarray(v.transform(A).multiply(v.transform(B)).sum(axis=1)).ravel()
        best = min(best, time.perf_counter() - start)
        assert len(rouge) == len(lens) == len(cos) == len(P)
    print(len(P) / best)


if __name__ == "__main__":
    main()
