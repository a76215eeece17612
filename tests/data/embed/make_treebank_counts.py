#!/usr/bin/env python3
"""Token counts of NLTK's Treebank word tokenizer (the in-sentence step of word_tokenize) on every
completion of the example data: the reference for prefroute's port (src/embed/words.rs).
NLTKWordTokenizer needs no data download (Punkt, the sentence step, does; it is not used here).
usage: .venv/ref/bin/python tests/data/embed/make_treebank_counts.py   (nltk 3.10.4, from rouge-score)"""
import sys, pyarrow.parquet as pq, nltk
from nltk.tokenize import NLTKWordTokenizer
assert nltk.__version__ == "3.10.4", nltk.__version__
tok = NLTKWordTokenizer()
with open("tests/data/embed/treebank_counts.tsv", "w", encoding="utf-8") as out:
    out.write("file\tid\twords_a\twords_b\n")
    for name in ("llmbar", "pandalm_test", "hh_rlhf_harmless_test"):
        t = pq.read_table(f"examples/data/{name}.parquet", columns=["id", "completion_a", "completion_b"])
        for i, a, b in zip(*(t.column(c).to_pylist() for c in ("id", "completion_a", "completion_b"))):
            out.write(f"{name}\t{i}\t{len(tok.tokenize(a))}\t{len(tok.tokenize(b))}\n")
