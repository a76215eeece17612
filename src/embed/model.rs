//! Loading a BERT-family sentence-transformers directory and running it on the
//! CPU: tokenisation, one forward pass per text (encoder.rs), last-layer token
//! states.
//!
//! A model directory holds `config.json` (a BERT config), `model.safetensors`
//! and `tokenizer.json` — the layout `sentence-transformers` saves. Models are
//! loaded once per canonical directory and shared ([`EmbeddingModel::load`]).

use super::encoder::{BertConfig, Encoder};
use crate::error::{Error, Result};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use once_cell::sync::Lazy;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokenizers::Tokenizer;

/// Environment variable naming the model directory when `model_dir` is not given.
pub const MODEL_DIR_ENV: &str = "PREFROUTE_MODEL_DIR";

/// How to get the reference model, for error messages.
pub const MODEL_HINT: &str = "run `make model` in the prefroute repository (it puts all-MiniLM-L6-v2 in \
     .cache/models/all-MiniLM-L6-v2), or pass any sentence-transformers directory with config.json, \
     model.safetensors and tokenizer.json";

/// The files a model directory must hold.
const MODEL_FILES: [&str; 3] = ["config.json", "model.safetensors", "tokenizer.json"];

/// A BERT encoder and its tokenizer, ready to embed texts.
pub struct EmbeddingModel {
    dir: PathBuf,
    encoder: Encoder,
    /// The model's tokenizer with truncation and padding switched off: we truncate per use.
    tokenizer: Tokenizer,
    /// Ids the post-processor adds ([CLS], [SEP] for BERT): BERTScore gives them weight 0.
    special_ids: Vec<u32>,
    /// Special tokens before and after the text in a single-sequence encoding.
    specials_before: usize,
    specials_after: usize,
    /// Longest sequence the position embeddings allow (512 for BERT).
    max_positions: usize,
}

impl std::fmt::Debug for EmbeddingModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddingModel").field("dir", &self.dir).finish_non_exhaustive()
    }
}

static LOADED: Lazy<Mutex<HashMap<PathBuf, Arc<EmbeddingModel>>>> = Lazy::new(|| Mutex::new(HashMap::new()));

/// The model directory from `PREFROUTE_MODEL_DIR`, if set and not empty.
pub fn model_dir_from_env() -> Option<PathBuf> {
    std::env::var_os(MODEL_DIR_ENV).filter(|v| !v.is_empty()).map(PathBuf::from)
}

impl EmbeddingModel {
    /// Loads the model in `dir`, or returns the copy already loaded from the same
    /// canonical directory.
    pub fn load(dir: &Path) -> Result<Arc<EmbeddingModel>> {
        let shown = dir.display().to_string();
        let canonical = dir
            .canonicalize()
            .map_err(|e| Error::model(&shown, format!("cannot open the model directory: {e}"), MODEL_HINT))?;
        if !canonical.is_dir() {
            return Err(Error::model(&shown, "this is a file, not a model directory", MODEL_HINT));
        }
        let missing: Vec<&str> =
            MODEL_FILES.iter().copied().filter(|name| !canonical.join(name).is_file()).collect();
        if !missing.is_empty() {
            return Err(Error::model(
                &shown,
                format!("the directory has no {}", missing.join(", no ")),
                MODEL_HINT,
            ));
        }
        let mut loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = loaded.get(&canonical) {
            return Ok(m.clone());
        }
        confine_candle_threads();
        let model = Arc::new(Self::load_uncached(&canonical)?);
        loaded.insert(canonical, model.clone());
        Ok(model)
    }

    fn load_uncached(dir: &Path) -> Result<EmbeddingModel> {
        let shown = dir.display().to_string();
        let bad =
            |what: &str, e: &dyn std::fmt::Display| Error::model(&shown, format!("{what}: {e}"), MODEL_HINT);
        let read =
            |name: &str| std::fs::read(dir.join(name)).map_err(|e| bad(&format!("cannot read {name}"), &e));
        let config: BertConfig = serde_json::from_slice(&read("config.json")?)
            .map_err(|e| bad("config.json is not a BERT configuration", &e))?;
        let weights = read("model.safetensors")?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu)
            .map_err(|e| bad("model.safetensors cannot be read", &e))?;
        let encoder = Encoder::load(vb, &config)
            .map_err(|e| bad("model.safetensors does not hold the BERT weights config.json describes", &e))?;
        let mut tokenizer = Tokenizer::from_bytes(read("tokenizer.json")?)
            .map_err(|e| bad("tokenizer.json cannot be read", &e))?;
        // Files saved by sentence-transformers often fix truncation and padding (all-MiniLM-L6-v2:
        // 128); we truncate per measure, and each text runs alone (no padding).
        tokenizer.with_padding(None);
        tokenizer.with_truncation(None).map_err(|e| bad("tokenizer.json truncation cannot be reset", &e))?;
        let probe =
            tokenizer.encode("a", true).map_err(|e| bad("the tokenizer fails on a plain word", &e))?;
        let mask = probe.get_special_tokens_mask();
        let specials_before = mask.iter().take_while(|m| **m == 1).count();
        let specials_after = mask.iter().rev().take_while(|m| **m == 1).count();
        let special_ids: Vec<u32> =
            probe.get_ids().iter().zip(mask).filter(|(_, m)| **m == 1).map(|(id, _)| *id).collect();
        if specials_before + specials_after >= mask.len() {
            return Err(bad("the tokenizer drops ordinary text", &"encoding 'a' gave only special tokens"));
        }
        Ok(EmbeddingModel {
            dir: dir.to_path_buf(),
            encoder,
            tokenizer,
            special_ids,
            specials_before,
            specials_after,
            max_positions: config.max_position_embeddings,
        })
    }

    /// The canonical directory the model was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Token ids of `text` (trimmed of surrounding whitespace, as sentence-transformers
    /// and bert-score do) with the model's special tokens, not truncated.
    pub(crate) fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let e = self.tokenizer.encode(text.trim(), true).map_err(|e| {
            Error::model(self.dir.display().to_string(), format!("the tokenizer failed: {e}"), "")
        })?;
        Ok(e.get_ids().to_vec())
    }

    /// `ids` cut to at most `max_len` tokens the way the tokenizers library truncates
    /// a single sequence: text tokens are dropped from the end, special tokens kept.
    pub(crate) fn truncate(&self, ids: &[u32], max_len: usize) -> Vec<u32> {
        let max_len = max_len.min(self.max_positions);
        if ids.len() <= max_len {
            return ids.to_vec();
        }
        let keep_text = max_len.saturating_sub(self.specials_before + self.specials_after);
        let mut out = ids[..self.specials_before + keep_text].to_vec();
        out.extend_from_slice(&ids[ids.len() - self.specials_after..]);
        out
    }

    /// Whether `id` is one of the special tokens the tokenizer adds.
    pub(crate) fn is_special(&self, id: u32) -> bool {
        self.special_ids.contains(&id)
    }

    /// Last-layer hidden states of each sequence, `(len, hidden)` each, one
    /// forward pass per sequence (no padding; see encoder.rs). A sequence's states
    /// do not depend on the other sequences.
    pub(crate) fn last_layer(&self, seqs: &[Vec<u32>]) -> Result<Vec<Tensor>> {
        seqs.iter().map(|s| self.encoder.forward(s).map_err(|e| self.failed(e))).collect()
    }

    fn failed(&self, e: candle_core::Error) -> Error {
        Error::model(self.dir.display().to_string(), format!("the forward pass failed: {e}"), "")
    }
}

/// Makes candle run its element-wise operations on the calling thread.
///
/// candle 0.11 runs large element-wise operations on a process-wide pool of
/// spinning workers (`CANDLE_NUM_THREADS`, default: all physical cores) that
/// serialises concurrent callers; prefroute parallelises over pairs on its own
/// threads instead, which measured 15–30 % less CPU time on one thread and avoids
/// the serialisation on several. The pool is sized from the environment when
/// candle first uses it, so this must run before the first forward pass. A value
/// the user set is kept.
fn confine_candle_threads() {
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        // Called under the model-cache lock, before candle reads the variable. This is
        // the process's only write to the environment from prefroute; Rust's own
        // readers take the same lock as this write.
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
}

/// How pairs are grouped for scoring. Results do not depend on it (each text
/// runs alone through the encoder); memory does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Batching {
    /// Pairs whose token states are held in memory at once.
    pub pairs_per_chunk: usize,
    /// Reuse the BERTScore pass's states for the sentence embedding of a text that fits
    /// in [`SENTENCE_MAX_TOKENS`](super::SENTENCE_MAX_TOKENS) (the input is the same); `false`
    /// runs a second pass for every text (for benchmarks).
    pub share_states: bool,
}

impl Default for Batching {
    fn default() -> Self {
        Batching { pairs_per_chunk: 32, share_states: true }
    }
}
