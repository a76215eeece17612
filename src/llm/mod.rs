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
//! - [`client`]: one blocking `POST {base_url}/chat/completions` per request, and `GET
//!   {base_url}/models` once at bind when no model is named (ureq, rustls with bundled roots, no
//!   system OpenSSL). A per-attempt deadline (`timeout`), a shared pacer
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
//! returns the results in input order. Within one run each distinct request (cache key) is sent
//! once and its reply serves every row that needs it (the runner's single-flight), and every reply
//! is cached as it arrives, so a re-run from the cache returns exactly what the first run returned,
//! in every column. A pair whose completions are identical is not asked at all: `tie` in both orders
//! with confidence [`IDENTICAL_CONFIDENCE`]. Requests are greedy and seeded, so the labels depend
//! on the server and the model, not on how many requests ran at once; a server that batches
//! requests (llama.cpp, vLLM) may still move a log-probability, and so `ai_confidence`, in its
//! last digits from one cold-cache run to the next (README: measured).

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

/// `ai_confidence` of a pair whose completions are identical, judged `tie` without a request:
/// P(A) = P(B) for a judge that cannot tell the texts apart, so P(tie's side) / (P(A) + P(B)) = 1/2,
/// the least sure a verdict can be. A number rather than NULL so that `ai_confidence` keeps one
/// meaning (0.5–1, higher = surer) for every judged row, and a risk model reading it sees an
/// unsure judge, not a missing value replaced by the training mean.
pub const IDENTICAL_CONFIDENCE: f64 = 0.5;

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
            None if identical(p) => 0,
            None if self.0.swap => 2,
            None => 1,
        }
    }

    fn key(&self, p: &PairInput, o: usize) -> Option<String> {
        let (prompt, first, second) = ordering(p, o)?;
        Some(self.judge().key(prompt, first, second))
    }

    fn ask(&self, p: &PairInput, o: usize) -> Self::Answer {
        let (prompt, first, second) = ordering(p, o).ok_or("a NULL text")?;
        self.judge().ask(prompt, first, second)
    }

    fn stored(&self, answer: &Self::Answer) -> bool {
        // A verdict is cached before it is returned (a failed write is an error).
        self.0.cache.is_some() && answer.is_ok()
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
        if null_field(p).is_none() && identical(p) {
            // No request: a judge cannot prefer a text to itself (see IDENTICAL_CONFIDENCE).
            out.ai_pref = Some(Label::Tie);
            out.ai_pref_alt = self.0.swap.then_some(Label::Tie);
            out.ai_confidence = Some(IDENTICAL_CONFIDENCE);
            return out;
        }
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

impl PairWork {
    fn judge(&self) -> Judge<'_> {
        Judge {
            client: &self.0.client,
            model: &self.0.model,
            template: &self.0.template,
            cache: self.0.cache.as_ref(),
        }
    }
}

/// The prompt and the completions in the order of request `o` (0: as given, 1: swapped); `None`
/// when a text is NULL.
fn ordering(p: &PairInput, o: usize) -> Option<(&str, &str, &str)> {
    let (prompt, a, b) = (p.prompt.as_deref()?, p.a.as_deref()?, p.b.as_deref()?);
    Some(if o == 0 { (prompt, a, b) } else { (prompt, b, a) })
}

/// Whether the two completions are the same text, byte for byte (both non-NULL).
fn identical(p: &PairInput) -> bool {
    p.a.is_some() && p.a == p.b
}

/// The first of prompt / completion_a / completion_b that is NULL.
fn null_field(p: &PairInput) -> Option<&'static str> {
    [("prompt", &p.prompt), ("completion_a", &p.a), ("completion_b", &p.b)]
        .into_iter()
        .find(|(_, v)| v.is_none())
        .map(|(n, _)| n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use client::{Endpoint, Limits};

    /// A judge of a server that is not there (port 9, discard: connections are refused), no retries.
    fn offline_judge(swap: bool) -> Arc<PairJudge> {
        let limits = Limits { max_retries: 0, ..Limits::default() };
        let client = Client::new(Endpoint::new("http://127.0.0.1:9/v1", None), limits);
        Arc::new(PairJudge { client, model: "m".into(), template: Template::builtin(), cache: None, swap })
    }

    fn pair(id: &str, prompt: &str, a: &str, b: &str) -> PairInput {
        PairInput { id: id.into(), prompt: Some(prompt.into()), a: Some(a.into()), b: Some(b.into()) }
    }

    #[test]
    fn identical_completions_are_a_tie_without_a_request() {
        for swap in [true, false] {
            let judge = offline_judge(swap);
            let work = PairWork(Arc::clone(&judge));
            let same = pair("1", "Say hi", "hi", "hi");
            assert_eq!(work.requests(&same), 0);
            let out = judge.judge(&[same.clone(), pair("2", "Say hi", "hi", "hi ")]);
            // Only the second pair was asked: one attempt per order.
            assert_eq!(judge.client.requests_sent(), 1 + u64::from(swap));
            assert_eq!(out[0].ai_pref, Some(Label::Tie));
            assert_eq!(out[0].ai_pref_alt, swap.then_some(Label::Tie));
            assert_eq!(out[0].ai_confidence, Some(IDENTICAL_CONFIDENCE));
            assert_eq!(out[0].error, None);
            // "hi" and "hi " differ by a byte: asked (and failing here, with nobody at port 9).
            assert_eq!(out[1].ai_pref, None);
            assert!(out[1].error.is_some());
        }
    }

    #[test]
    fn duplicated_rows_share_keys_and_the_two_orders_differ() {
        let work = PairWork(offline_judge(true));
        let p = pair("1", "Which is larger?", "2", "3");
        let dup = pair("7", "Which is larger?", "2", "3");
        assert_eq!(work.key(&p, 0), work.key(&dup, 0));
        assert_eq!(work.key(&p, 1), work.key(&dup, 1));
        assert_ne!(work.key(&p, 0), work.key(&p, 1));
        // The swapped order of (a, b) is the first order of (b, a).
        assert_eq!(work.key(&p, 1), work.key(&pair("2", "Which is larger?", "3", "2"), 0));
        let null = PairInput { b: None, ..p };
        assert_eq!((work.requests(&null), work.key(&null, 0)), (0, None));
    }
}
