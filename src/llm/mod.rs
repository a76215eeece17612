//! # The LLM client: the only network I/O in prefroute
//!
//! `judge_pairs` asks a model served behind an OpenAI-compatible endpoint (vLLM, llama.cpp's
//! `llama-server`, Ollama, OpenAI itself) which of two completions better follows a prompt;
//! `describe_prompts` and `tag_instances(…, tagger := 'llm')` ask it the paper's eight descriptive
//! fields of a prompt ([`analyzer`]). This module is everything between the strings and a [`Label`]
//! or a field value; nothing else in the crate opens a socket, `tags/` reaches it only through the
//! analyzer's types, and `route/`, `ppm/` and `data/` never call it.
//!
//! ## The pieces
//! - [`client`]: one blocking `POST {base_url}/chat/completions` per request (ureq, rustls with
//!   bundled roots, no system OpenSSL). A per-attempt deadline (`timeout`), a shared pacer
//!   (`requests_per_minute`), and retries with exponential backoff (0.5 s doubling, capped at 20 s,
//!   jittered to 50–100 %) on what may pass: connection errors, timeouts, 429 (waiting at least its
//!   `Retry-After`, at most 120 s), 5xx, and a 200 whose body is not JSON. A 4xx other than 429 fails
//!   at once: asking again would get the same answer. The API key lives in [`client::Endpoint`]
//!   only: no `Debug`, never in a cache key, and scrubbed from every error message.
//! - [`cache`]: one file per request under `cache_dir` (default `.cache/prefroute/llm` in the working
//!   directory), named by a SHA-256 of (model, template version, full messages, decoding
//!   parameters) -- not the URL, not the key, so a cache is shared by every server of the same model.
//!   Files are written to a temporary name and renamed, and carry their own checksum: a crash leaves
//!   whole entries or nothing, and a damaged file is a miss. Failed requests are not cached.
//! - [`analyzer`]: the LLM tagger: the paper's analyzer prompt per descriptive field, the options
//!   as a `response_format` enum, the strict parser (an answer outside the vocabulary is no value).
//! - [`runner`]: the request runner both functions share: items in, results out in input order,
//!   requests on `max_concurrency` background threads, handed out in time-bounded chunks (about a
//!   second) so that a DuckDB scan can be interrupted within a request's time.
//! - [`judge`]: the versioned template ([`judge::TEMPLATE_VERSION`]), the request (temperature 0, a
//!   fixed seed, the reply constrained by a `response_format` JSON schema to `{"answer": "A"|"B"}`,
//!   top-5 log-probabilities asked for), the strict parser, and the confidence
//!   P(chosen) / (P(A) + P(B)) read from the answer token's log-probabilities.
//!
//! ## Determinism
//! [`PairJudge::judge`] (and the [`runner`] under it) runs pairs on `max_concurrency` threads and
//! returns the results in input order; every request is greedy and seeded, so the labels depend on the server and the
//! model, not on how many requests ran at once. (A server that batches requests may still change a
//! log-probability in its last digits; the label is the arg-max and does not move.)
//!
//! ## Example
//! ```no_run
//! use prefroute::llm::{client::{Client, Endpoint, Limits}, judge::Template, PairInput, PairJudge};
//! let client = Client::new(Endpoint::new("http://127.0.0.1:8080/v1", None), Limits::default());
//! let judge = std::sync::Arc::new(PairJudge { client, model: "smollm2".into(), template: Template::builtin(), cache: None, swap: true });
//! let pair = PairInput { id: "1".into(), prompt: Some("Say hi".into()), a: Some("hi".into()), b: Some("no".into()) };
//! let out = judge.judge(&[pair]);
//! println!("{:?} {:?} {:?}", out[0].ai_pref, out[0].ai_pref_alt, out[0].error);
//! ```

pub mod analyzer;
pub mod cache;
pub mod client;
pub mod judge;
pub mod runner;

use crate::data::Label;
use crate::progress::Progress;
use cache::Cache;
use client::Client;
use judge::{Judge, Template};
use runner::{Runner, Source, Work};
use std::sync::Arc;

/// One pair to judge, as read from the input.
#[derive(Clone, Debug)]
pub struct PairInput {
    pub id: String,
    pub prompt: Option<String>,
    pub a: Option<String>,
    pub b: Option<String>,
}

/// The judgement of one pair, in the input's order of A and B.
#[derive(Clone, Debug, PartialEq)]
pub struct PairJudgement {
    pub id: String,
    /// The verdict with the completions shown as given.
    pub ai_pref: Option<Label>,
    /// The verdict with the completions swapped, mapped back to the input's order.
    pub ai_pref_alt: Option<Label>,
    /// P(ai_pref) normalised over A and B, from the first ordering's log-probabilities.
    pub ai_confidence: Option<f64>,
    /// Why a label is missing (after the retries); `None` when every asked ordering answered.
    pub error: Option<String>,
    /// Requests answered from the cache / sent to the server for this pair.
    pub cached: usize,
    /// The first 60 characters of the prompt, debug-quoted ("NULL" when NULL), for error messages.
    pub prompt_head: String,
}

/// A configured judge: the client, the model name, the template, the cache, and whether to also
/// ask with the completions swapped.
pub struct PairJudge {
    pub client: Client,
    pub model: String,
    pub template: Template,
    pub cache: Option<Cache>,
    pub swap: bool,
}

impl PairJudge {
    /// Judges `pairs` on up to `max_concurrency` threads; results in input order. Never fails as a
    /// whole: a pair whose requests fail carries the reason in `error`.
    pub fn judge(self: &Arc<Self>, pairs: &[PairInput]) -> Vec<PairJudgement> {
        let mut batch = Some(pairs.to_vec());
        let runner = self.start(Box::new(move || Ok(batch.take())), pairs.len().max(1), Progress::off());
        let mut out = Vec::with_capacity(pairs.len());
        while let Ok(Some(rows)) = runner.next(usize::MAX) {
            out.extend(rows);
        }
        out
    }

    /// Starts judging the pairs `source` gives, on `max_concurrency` threads, at most `ahead` pairs
    /// past the last one taken; see [`runner`].
    pub fn start(
        self: &Arc<Self>,
        source: Source<PairInput>,
        ahead: usize,
        progress: Progress,
    ) -> Runner<PairWork> {
        let threads = self.client.limits().max_concurrency;
        Runner::start(Arc::new(PairWork(Arc::clone(self))), source, threads, ahead, progress)
    }
}

/// The judge as the runner's [`Work`]: one request per pair and ordering.
pub struct PairWork(pub Arc<PairJudge>);

impl Work for PairWork {
    type Item = PairInput;
    type Answer = Result<judge::Verdict, String>;
    type Output = PairJudgement;

    fn requests(&self, p: &PairInput) -> usize {
        match null_field(p) {
            Some(_) => 0,
            None if self.0.swap => 2,
            None => 1,
        }
    }

    fn ask(&self, p: &PairInput, o: usize) -> Self::Answer {
        let judge = Judge {
            client: &self.0.client,
            model: &self.0.model,
            template: &self.0.template,
            cache: self.0.cache.as_ref(),
        };
        let (Some(prompt), Some(a), Some(b)) = (p.prompt.as_deref(), p.a.as_deref(), p.b.as_deref()) else {
            return Err("a NULL text".into());
        };
        let (first, second) = if o == 0 { (a, b) } else { (b, a) };
        judge.ask(prompt, first, second)
    }

    fn failed(&self, message: String) -> Self::Answer {
        Err(message)
    }

    fn cached(&self, answer: &Self::Answer) -> bool {
        answer.as_ref().is_ok_and(|v| v.cached)
    }

    fn finish(&self, p: &PairInput, answers: Vec<Self::Answer>) -> PairJudgement {
        let mut out = PairJudgement {
            id: p.id.clone(),
            ai_pref: None,
            ai_pref_alt: None,
            ai_confidence: None,
            error: null_field(p).map(|f| format!("{f} is NULL: nothing to judge")),
            cached: 0,
            prompt_head: match &p.prompt {
                Some(t) => format!("{:?}", t.chars().take(60).collect::<String>()),
                None => "NULL".into(),
            },
        };
        let mut errors = Vec::new();
        for (o, answer) in answers.into_iter().enumerate() {
            match answer {
                Ok(v) => {
                    out.cached += usize::from(v.cached);
                    if o == 0 {
                        out.ai_pref = Some(v.label);
                        out.ai_confidence = v.confidence;
                    } else {
                        out.ai_pref_alt = Some(v.label.swapped());
                    }
                }
                Err(e) => errors.push(if o == 0 { e } else { format!("swapped order: {e}") }),
            }
        }
        if !errors.is_empty() {
            out.error = Some(errors.join("; "));
        }
        out
    }
}

/// The first of prompt / completion_a / completion_b that is NULL.
fn null_field(p: &PairInput) -> Option<&'static str> {
    [("prompt", &p.prompt), ("completion_a", &p.a), ("completion_b", &p.b)]
        .into_iter()
        .find(|(_, v)| v.is_none())
        .map(|(n, _)| n)
}
