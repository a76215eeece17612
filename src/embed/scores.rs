//! The two embedding measures of a pair of completions: cosine of the
//! sentence embeddings, and BERTScore precision / recall / F1.

use super::model::{Batching, EmbeddingModel};
use crate::error::{Error, Result};
use candle_core::{Tensor, D};

/// Tokens per text for sentence embeddings: sentence-transformers' `max_seq_length`
/// for all-MiniLM-L6-v2 (its tokenizer.json says 128, which we override).
pub const SENTENCE_MAX_TOKENS: usize = 256;

/// Tokens per text for BERTScore: bert-score truncates at the tokenizer's
/// `model_max_length`, 512 for BERT models.
pub const BERTSCORE_MAX_TOKENS: usize = 512;

/// The embedding measures of one pair (a = candidate, b = reference).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PairScores {
    /// Cosine of the mean-pooled, L2-normalised sentence embeddings, in [−1, 1].
    pub cosine: f64,
    /// BERTScore precision: each token of `a` matched to its most similar token of `b`.
    pub precision: f64,
    /// BERTScore recall: each token of `b` matched to its most similar token of `a`.
    pub recall: f64,
    /// BERTScore F1, the paper's `bertscore` tag; symmetric in a and b.
    pub f1: f64,
}

impl EmbeddingModel {
    /// Scores every pair `(a, b)`: sentence-embedding cosine and BERTScore with
    /// `a` as candidate and `b` as reference (bert-score's `score(cands=a, refs=b)`).
    ///
    /// BERTScore uses the last layer's token states, greedy cosine matching, no
    /// idf weighting and no baseline rescaling; special tokens (`[CLS]`, `[SEP]`) may be
    /// matched but carry no weight, as in bert-score. When either text has no
    /// tokens (empty or whitespace only) P = R = F1 = 0, bert-score's convention.
    /// The cosine of an empty text's embedding (its special tokens only) is
    /// computed like any other, as sentence-transformers does.
    ///
    /// Runs on the calling thread only: callers parallelise over pairs.
    pub fn score_pairs(&self, pairs: &[(&str, &str)], batching: &Batching) -> Result<Vec<PairScores>> {
        on_this_thread(|| {
            let mut out = Vec::with_capacity(pairs.len());
            for chunk in pairs.chunks(batching.pairs_per_chunk.max(1)) {
                out.extend(self.score_chunk(chunk, batching)?);
            }
            Ok(out)
        })
    }

    /// Sentence embeddings of `texts`: mean-pooled, L2-normalised last-layer states
    /// of each text truncated to [`SENTENCE_MAX_TOKENS`] tokens, the vectors whose dot
    /// product is `cosine_sim` (one `hidden`-length vector per text, e.g. 384 for MiniLM).
    ///
    /// Runs on the calling thread only: callers parallelise over texts.
    pub fn embed_sentences(&self, texts: &[&str], batching: &Batching) -> Result<Vec<Vec<f64>>> {
        on_this_thread(|| {
            let mut out = Vec::with_capacity(texts.len());
            for chunk in texts.chunks(2 * batching.pairs_per_chunk.max(1)) {
                let seqs = chunk
                    .iter()
                    .map(|t| Ok(self.truncate(&self.encode(t)?, SENTENCE_MAX_TOKENS)))
                    .collect::<Result<Vec<_>>>()?;
                for states in self.last_layer(&seqs)? {
                    out.push(mean_pooled(&states)?);
                }
            }
            Ok(out)
        })
    }

    fn score_chunk(&self, pairs: &[(&str, &str)], batching: &Batching) -> Result<Vec<PairScores>> {
        let texts: Vec<&str> = pairs.iter().flat_map(|(a, b)| [*a, *b]).collect();
        let encoded = texts.iter().map(|t| self.encode(t)).collect::<Result<Vec<_>>>()?;
        let long: Vec<Vec<u32>> = encoded.iter().map(|e| self.truncate(e, BERTSCORE_MAX_TOKENS)).collect();
        let states = self.last_layer(&long)?;
        // A text that fits in the sentence-embedding length has the same input in both
        // passes, hence the same states: only longer texts need a second pass.
        let short_idx: Vec<usize> = (0..long.len())
            .filter(|i| !batching.share_states || long[*i].len() > SENTENCE_MAX_TOKENS)
            .collect();
        let short_seqs: Vec<Vec<u32>> =
            short_idx.iter().map(|i| self.truncate(&long[*i], SENTENCE_MAX_TOKENS)).collect();
        let short_states = self.last_layer(&short_seqs)?;
        let mut sentence_states: Vec<&Tensor> = states.iter().collect();
        for (k, i) in short_idx.iter().enumerate() {
            sentence_states[*i] = &short_states[k];
        }
        let pooled = sentence_states.iter().map(|s| mean_pooled(s)).collect::<Result<Vec<_>>>()?;
        let mut out = Vec::with_capacity(pairs.len());
        for p in 0..pairs.len() {
            let (a, b) = (2 * p, 2 * p + 1);
            let cosine = pooled[a].iter().zip(&pooled[b]).map(|(x, y)| x * y).sum();
            let (precision, recall, f1) = self.bertscore(&long[a], &states[a], &long[b], &states[b])?;
            out.push(PairScores { cosine, precision, recall, f1 });
        }
        Ok(out)
    }

    /// BERTScore P, R, F1 of candidate states `sa` against reference states `sb`.
    fn bertscore(&self, ids_a: &[u32], sa: &Tensor, ids_b: &[u32], sb: &Tensor) -> Result<(f64, f64, f64)> {
        let wa: Vec<bool> = ids_a.iter().map(|id| !self.is_special(*id)).collect();
        let wb: Vec<bool> = ids_b.iter().map(|id| !self.is_special(*id)).collect();
        if !wa.contains(&true) || !wb.contains(&true) {
            return Ok((0.0, 0.0, 0.0));
        }
        let sim = (|| {
            let na = normalise_rows(sa)?;
            let nb = normalise_rows(sb)?;
            na.matmul(&nb.t()?)
        })()
        .map_err(|e| embed_error(&e))?;
        // Greedy matching over all tokens of the other side (special tokens included).
        let best_a: Vec<f32> = sim.max(1).and_then(|t| t.to_vec1()).map_err(|e| embed_error(&e))?;
        let best_b: Vec<f32> = sim.max(0).and_then(|t| t.to_vec1()).map_err(|e| embed_error(&e))?;
        let precision = weighted_mean(&best_a, &wa);
        let recall = weighted_mean(&best_b, &wb);
        let f1 =
            if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
        Ok((precision, recall, f1))
    }
}

fn weighted_mean(values: &[f32], keep: &[bool]) -> f64 {
    let (sum, n) = values
        .iter()
        .zip(keep)
        .filter(|(_, k)| **k)
        .fold((0.0, 0usize), |(s, n), (v, _)| (s + *v as f64, n + 1));
    sum / n.max(1) as f64
}

fn normalise_rows(t: &Tensor) -> candle_core::Result<Tensor> {
    t.broadcast_div(&t.sqr()?.sum_keepdim(D::Minus1)?.sqrt()?)
}

/// Mean of the token states (all tokens, special ones included, as
/// sentence-transformers' mean pooling does), L2-normalised.
fn mean_pooled(states: &Tensor) -> Result<Vec<f64>> {
    let mean: Vec<f32> = states.mean(0).and_then(|t| t.to_vec1()).map_err(|e| embed_error(&e))?;
    let mean: Vec<f64> = mean.into_iter().map(f64::from).collect();
    // sentence-transformers' Normalize: x / max(‖x‖, 1e-12).
    let norm = mean.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-12);
    Ok(mean.into_iter().map(|x| x / norm).collect())
}

fn embed_error(e: &candle_core::Error) -> Error {
    Error::Internal(format!("embedding arithmetic failed: {e}"))
}

thread_local! {
    /// A one-thread pool per calling thread: candle's matrix products parallelise
    /// with rayon, and confining them here makes the caller's thread count the
    /// only parallelism (and keeps results independent of it).
    static POOL: Option<rayon::ThreadPool> = rayon::ThreadPoolBuilder::new().num_threads(1).build().ok();
}

fn on_this_thread<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    POOL.with(|pool| match pool {
        Some(pool) => pool.install(f),
        None => f(),
    })
}
