"""The Python reference for the embedding benchmark, as tests/data/oracle/make_oracle_features.py
computes it: sentence-transformers cosine of all-MiniLM-L6-v2 embeddings (batch 32) and bert-score
0.3.13 P/R/F on the model's last layer (batch 1, no idf, no baseline), on the CPU, every pair of one
file. bertscore_length's word counts (NLTK word_tokenize) need Punkt data and are left out; they
cost little. Prints pairs per second for the two measures together.
usage: python bench_embed_reference.py <dataset.parquet> <model dir> [bert-score batch size, default 1]
(bert-score's own default is 64: it sorts the texts by length and pads within a batch.)"""
import os
import sys
import time

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
import pyarrow.parquet as pq
import torch

path, model_dir = sys.argv[1], sys.argv[2]
bertscore_batch = int(sys.argv[3]) if len(sys.argv) > 3 else 1
t = pq.read_table(path, columns=["completion_a", "completion_b"])
A, B = t.column("completion_a").to_pylist(), t.column("completion_b").to_pylist()
from sentence_transformers import SentenceTransformer
import bert_score

st = SentenceTransformer(model_dir, device="cpu")
start = time.time()
ea = st.encode(A, normalize_embeddings=True, batch_size=32)
eb = st.encode(B, normalize_embeddings=True, batch_size=32)
cos = (ea * eb).sum(1)
mid = time.time()
ok = [i for i, (a, b) in enumerate(zip(A, B)) if a.strip() and b.strip()]
bert_score.score([A[i] for i in ok], [B[i] for i in ok], model_type=model_dir, num_layers=6, idf=False,
                 device="cpu", batch_size=bertscore_batch)
end = time.time()
print(f"{len(A) / (end - start):.2f} pairs/s ({mid - start:.1f} s sentence-transformers, {end - mid:.1f} s "
      f"bert-score, batch {bertscore_batch}; torch {torch.__version__}, {torch.get_num_threads()} threads)")
