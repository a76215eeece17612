//! Embedding measures of a pair of completions, computed with a BERT-family
//! sentence-transformers model in pure Rust on the CPU (candle; no BLAS, no
//! download): `cosine_sim`, `bertscore` and `bertscore_length` (SPEC §2.2).
//!
//! The model is a directory the user names (`model_dir := '…'` in SQL, or the
//! environment variable [`MODEL_DIR_ENV`]); [`EmbeddingModel::load`] reads it
//! once and shares it. The reference model is all-MiniLM-L6-v2 (`make model`
//! fetches it); the paper used distilbert-base-uncased for BERTScore and
//! all-distilroberta-v1 for the cosine, so absolute values differ from the
//! paper's, while the definitions are the same.
//!
//! ```text
//! texts ─► tokenizer (truncate: 512 for BERTScore, 256 for sentence embeddings)
//!       ─► BERT forward, one text per pass, no padding (encoder.rs, kernels.rs) ─► last-layer token states
//!       ─► mean-pool + L2-normalise ─► cosine_sim
//!       ─► per-token L2-normalise, greedy max cosine ─► BERTScore P/R/F1
//! F1, word counts (words.rs) ─► bertscore_length
//! ```
//!
//! Parity with sentence-transformers and bert-score 0.3.13 is tested in
//! `tests/embed_parity.rs`.

mod encoder;
mod kernels;
mod model;
mod scores;
pub mod words;

pub use model::{model_dir_from_env, Batching, EmbeddingModel, MODEL_DIR_ENV, MODEL_HINT};
pub use scores::{PairScores, BERTSCORE_MAX_TOKENS, SENTENCE_MAX_TOKENS};
pub use words::{bertscore_length, word_count};
