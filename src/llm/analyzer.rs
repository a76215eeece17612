//! # The LLM tagger: the paper's analyzer prompt, one request per (prompt, field)
//!
//! The paper fills its eight descriptive fields with a fine-tuned Llama-3-8B "analyzer" (SPEC §2.4):
//! one generation per (instance, field), the user message being the field's instruction followed by
//! `Data:\n[START]\n<|user|>\n{prompt}\n[END]`, and the reply read as a JSON object whose key is the
//! field (no parsable answer: no value). [`Analyzer`] asks any OpenAI-compatible model the same way:
//!
//! - **The instruction** of a field has the paper's structure: a data-analyst preamble, the field's
//!   definition, its options, and "reply with a JSON object whose key is the field". The texts are
//!   ours (template version [`TEMPLATE_VERSION`], part of every cache key); the options are the
//!   vocabularies the rule tagger emits ([`crate::tags::descriptive::vocab`], which a test checks
//!   against `assets/tag_vocabulary.json`), so tags, binning and routing read both taggers' output
//!   the same way.
//! - **The options are enforced**: `response_format` is a JSON schema whose only property is the
//!   field, an `enum` of the options (an array of them for list fields). A server that ignores the
//!   schema may still answer outside it; such an answer, or one that is not the JSON object asked
//!   for, gives the field no value (NULL, named in `missing`), as the paper's `json.loads` + key
//!   lookup gives `None`. Membership is exact and case-sensitive (SPEC §2.4).
//! - **List fields.** The rule tagger gives `subject_of_expertise`, `languages`,
//!   `type_of_in_context_material` and `format_constraints` as lists, so the analyzer asks them as
//!   lists too: up to 3 subjects (the paper's prompt asks for up to three), up to 3 languages, up to 5
//!   materials and 5 constraints; an empty list means "none" (for the two open sets that is the
//!   "absent" the PPM's existence tag reads). Duplicates are dropped, order kept. A list with any
//!   value outside the options is no value at all, not a shortened list: a model that wanders off
//!   the options has not answered the question.
//! - **Decoding**: `temperature: 0`, `seed: 42`, `max_tokens: 150`, like the judge; every finished
//!   reply (in or out of the vocabulary) is cached, failures are not. Within one run a request is
//!   sent once however many rows repeat a prompt (the runner's single-flight).

use super::cache::{request_key, Cache};
use super::client::Client;
use super::runner::{Runner, Source, Work};
use crate::progress::Progress;
use crate::tags::descriptive::vocab::{
    COMPLEXITY_LEVELS, EXPERTISE_LEVELS, FORMAT_NAMES, MATERIAL_NAMES, OPEN_ENDEDNESS, SAFETY_LEVELS,
    SUBJECTS,
};
use crate::tags::descriptive::Descriptive;
use serde_json::{json, Value};
use std::sync::Arc;

/// The analyzer prompts' version; part of every cache key, bumped whenever a text below changes.
pub const TEMPLATE_VERSION: &str = "analyzer-v1";

/// Decoding parameters (also part of the cache key).
const SEED: u64 = 42;
const MAX_TOKENS: u64 = 150;

/// The eight fields, in tag order (the rule tagger's).
pub const FIELDS: [&str; 8] = crate::tags::pipeline::DESCRIPTIVE_FIELDS;

/// Languages offered for `languages`: the ones the rule tagger's detector can name (a test checks).
pub const LANGUAGES: [&str; 10] = [
    "English",
    "Chinese",
    "Spanish",
    "French",
    "German",
    "Portuguese",
    "Italian",
    "Russian",
    "Japanese",
    "Korean",
];

/// The data-analyst preamble every instruction opens with.
const PREAMBLE: &str = "You are a data analyst. You are given a query that a user sent to an AI assistant, \
and you annotate one property of the query.";

/// How one field is asked: its definition, options, and whether the answer is a list (and how long).
pub struct FieldSpec {
    pub name: &'static str,
    pub definition: &'static str,
    pub options: &'static [&'static str],
    /// `Some(n)`: a list of at most `n` options; `None`: exactly one option.
    pub max_items: Option<usize>,
    /// A list must have at least one item.
    pub non_empty: bool,
}

/// The specification of field `k` (indexed as [`FIELDS`]).
pub fn field_spec(k: usize) -> FieldSpec {
    let (definition, options, max_items, non_empty): (&str, &'static [&'static str], Option<usize>, bool) =
        match k {
            0 => (
                "The subject of expertise: the fields of knowledge a good answer to the query needs. \
                 Choose the one to three most relevant subjects, most relevant first; choose \"Others\" \
                 when no field of knowledge applies.",
                &SUBJECTS,
                Some(3),
                true,
            ),
            1 => (
                "The languages: the natural languages the query is written in (not programming \
                 languages). Give an empty list if none of the options applies.",
                &LANGUAGES,
                Some(3),
                false,
            ),
            2 => (
                "The expertise level: how much knowledge a person needs to write a good answer. \
                 \"general public\": anyone could; \"basic domain knowledge\": it needs some study of the \
                 subject; \"expert domain knowledge\": it needs a specialist.",
                &EXPERTISE_LEVELS,
                None,
                false,
            ),
            3 => (
                "The open-endedness: how many different answers could be good. \"no\": one correct answer \
                 (a fact, a calculation, a yes or no); \"low\": a few; \"moderate\": many, within clear \
                 limits; \"high\": the answer is free (a story, an opinion, brainstorming).",
                &OPEN_ENDEDNESS,
                None,
                false,
            ),
            4 => (
                "The safety concern: how harmful it could be to answer the query as asked. \"safe\": not at \
                 all; \"low\": a sensitive or controversial topic; \"moderate\": minor crimes, unethical acts, \
                 privacy violations, harassment or explicit content; \"high\": serious harm such as violence, \
                 weapons, fraud or hateful content.",
                &SAFETY_LEVELS,
                None,
                false,
            ),
            5 => (
                "The complexity of intents: how many things the query asks for and how they depend on each \
                 other. \"simple\": one request; \"moderate\": a few requests or constraints; \"complex\": \
                 many requests, steps or constraints.",
                &COMPLEXITY_LEVELS,
                None,
                false,
            ),
            6 => (
                "The type of in-context material: material the query provides for the assistant to work \
                 on, beyond the request itself (for example code, a table, a document to summarise, options \
                 to choose from). Give an empty list if the query provides none.",
                &MATERIAL_NAMES,
                Some(5),
                false,
            ),
            _ => (
                "The format constraints: requirements on the form of the answer (for example a length \
                 limit, a list, a table, JSON, a style, a language). Give an empty list if the query sets \
                 none.",
                &FORMAT_NAMES,
                Some(5),
                false,
            ),
        };
    FieldSpec { name: FIELDS[k.min(7)], definition, options, max_items, non_empty }
}

impl FieldSpec {
    /// The instruction of this field (everything before the data).
    pub fn instruction(&self) -> String {
        let options = self.options.iter().map(|o| format!("- {o}")).collect::<Vec<_>>().join("\n");
        let value = match self.max_items {
            None => "one of the options, written exactly as above".to_string(),
            Some(n) => format!("a list of at most {n} of the options, written exactly as above"),
        };
        format!(
            "{PREAMBLE}\n\n{}\n\nOptions:\n{options}\n\nReply with a JSON object whose only key is \"{}\" and \
             whose value is {value}.",
            self.definition, self.name
        )
    }

    /// The `response_format` of this field: a JSON schema with the options as an enum.
    pub fn response_format(&self) -> Value {
        let value = match self.max_items {
            None => json!({"type": "string", "enum": self.options}),
            Some(n) => json!({
                "type": "array",
                "items": {"type": "string", "enum": self.options},
                "minItems": usize::from(self.non_empty),
                "maxItems": n
            }),
        };
        json!({
            "type": "json_schema",
            "json_schema": {
                "name": self.name,
                "strict": true,
                "schema": {
                    "type": "object",
                    "properties": {self.name: value},
                    "required": [self.name],
                    "additionalProperties": false
                }
            }
        })
    }

    /// The field's value in `content`: `Ok(value)` for an answer within the options, `Err(why)` for
    /// anything else (not JSON, no such key, a value outside the options).
    pub fn parse(&self, content: &str) -> Result<Answer, String> {
        let shown = || content.chars().take(80).collect::<String>();
        let v: Value =
            serde_json::from_str(content.trim()).map_err(|_| format!("not a JSON object: {:?}", shown()))?;
        let value = v.get(self.name).ok_or_else(|| format!("no key \"{}\": {:?}", self.name, shown()))?;
        let known = |s: &str| self.options.contains(&s);
        match (self.max_items, value) {
            (None, Value::String(s)) if known(s) => Ok(Answer::One(s.clone())),
            (Some(_), Value::Array(items)) => {
                let mut out: Vec<String> = Vec::new();
                for item in items {
                    match item.as_str() {
                        Some(s) if known(s) => {
                            if !out.iter().any(|o| o == s) {
                                out.push(s.to_string());
                            }
                        }
                        _ => return Err(format!("{item} is not one of the options")),
                    }
                }
                Ok(Answer::List(out))
            }
            _ => Err(format!(
                "{value} is not {}",
                if self.max_items.is_some() { "a list of options" } else { "one of the options" }
            )),
        }
    }
}

/// A field's value in the vocabulary.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    One(String),
    List(Vec<String>),
}

/// The user message for field `k` of `prompt` (SPEC §2.4's data block).
pub fn message(k: usize, prompt: &str) -> String {
    format!("{}\n\nData:\n[START]\n<|user|>\n{prompt}\n[END]\n", field_spec(k).instruction())
}

/// One field's outcome: a value in the vocabulary, an answer outside it (`Missing`), or a failed
/// request (`Failed`, after the retries). `cached`: no request was made.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldOutcome {
    Value(Answer, bool),
    Missing(String, bool),
    Failed(String),
}

impl FieldOutcome {
    pub fn cached(&self) -> bool {
        matches!(self, FieldOutcome::Value(_, true) | FieldOutcome::Missing(_, true))
    }
}

/// Everything an analyzer request needs besides the prompt.
pub struct Analyzer {
    pub client: Client,
    pub model: String,
    pub cache: Option<Cache>,
}

impl Analyzer {
    /// The messages and decoding parameters of field `k` of `prompt`, and their cache key.
    fn request(&self, k: usize, prompt: &str) -> (String, Value, Value) {
        let messages = json!([{"role": "user", "content": message(k, prompt)}]);
        let decoding = json!({
            "temperature": 0,
            "seed": SEED,
            "max_tokens": MAX_TOKENS,
            "response_format": field_spec(k).response_format(),
        });
        let key = request_key(&self.model, TEMPLATE_VERSION, &messages, &decoding);
        (key, messages, decoding)
    }

    /// The cache key of the request that [`Analyzer::ask`] makes for field `k` of `prompt`.
    pub fn key(&self, k: usize, prompt: &str) -> String {
        self.request(k, prompt).0
    }

    /// Asks field `k` of `prompt`. Never fails as a whole: see [`FieldOutcome`].
    pub fn ask(&self, k: usize, prompt: &str) -> FieldOutcome {
        let spec = field_spec(k);
        let (key, messages, decoding) = self.request(k, prompt);
        let read = |content: &str, cached: bool| match spec.parse(content) {
            Ok(a) => FieldOutcome::Value(a, cached),
            Err(e) => FieldOutcome::Missing(e, cached),
        };
        if let Some(hit) = self.cache.as_ref().and_then(|c| c.get(&key)) {
            if let Some(content) = hit.get("content").and_then(Value::as_str) {
                return read(content, true);
            }
        }
        let mut body = decoding;
        body["model"] = json!(self.model);
        body["messages"] = messages;
        let reply = match self.client.chat(&body) {
            Ok(r) => r,
            Err(e) => return FieldOutcome::Failed(self.client.endpoint().redact(&e.message)),
        };
        let content = reply
            .get("choices")
            .and_then(|c| c.get(0))
            .and_then(|c| c.get("message"))
            .and_then(|m| m.get("content"))
            .and_then(Value::as_str);
        let Some(content) = content else {
            return FieldOutcome::Failed("the reply has no message content".into());
        };
        if let Some(cache) = &self.cache {
            if let Err(e) = cache.put(&key, &json!({"content": content})) {
                return FieldOutcome::Failed(e);
            }
        }
        read(content, false)
    }
}

/// The eight fields of one prompt as asked of the analyzer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Described {
    /// Values in the vocabulary; a field without one is empty / `None`.
    pub fields: Descriptive,
    /// Fields asked that got no value in the vocabulary (an answer outside it, or a failed request).
    pub missing: Vec<&'static str>,
    /// Why requests failed, `field: reason`, joined by `; `; `None` when every request answered.
    pub error: Option<String>,
    /// Requests answered from the cache.
    pub cached: usize,
    /// The fields asked, indices into [`FIELDS`].
    pub asked: Vec<usize>,
    /// The first 60 characters of the prompt, debug-quoted ("NULL" when NULL), for error messages.
    pub prompt_head: String,
}

/// Assembles the outcomes of the fields `asked` (indices into [`FIELDS`]), in that order.
pub fn assemble(asked: &[usize], outcomes: Vec<FieldOutcome>) -> Described {
    let mut d = Described::default();
    let mut errors = Vec::new();
    for (&k, outcome) in asked.iter().zip(outcomes) {
        d.cached += usize::from(outcome.cached());
        match outcome {
            FieldOutcome::Value(a, _) => set(&mut d.fields, k, a),
            FieldOutcome::Missing(..) => d.missing.push(FIELDS[k]),
            FieldOutcome::Failed(e) => {
                d.missing.push(FIELDS[k]);
                errors.push(format!("{}: {e}", FIELDS[k]));
            }
        }
    }
    if !errors.is_empty() {
        d.error = Some(errors.join("; "));
    }
    d
}

fn set(d: &mut Descriptive, k: usize, a: Answer) {
    let (one, list) = match a {
        Answer::One(s) => (Some(s), Vec::new()),
        Answer::List(v) => (None, v),
    };
    match k {
        0 => d.subject_of_expertise = list,
        1 => d.languages = list,
        2 => d.expertise_level = one,
        3 => d.open_endedness = one,
        4 => d.safety_concern = one,
        5 => d.complexity_of_intents = one,
        6 => d.type_of_in_context_material = list,
        _ => d.format_constraints = list,
    }
}

/// A prompt to describe, the fields to ask, and what the caller carries along with it.
pub struct DescribeItem<T> {
    /// `None` (a NULL prompt): nothing is asked, every asked field is missing.
    pub prompt: Option<String>,
    /// Fields to ask, indices into [`FIELDS`], ascending.
    pub asked: Vec<usize>,
    pub carry: T,
}

/// The analyzer as the runner's [`Work`]: one request per (prompt, asked field).
pub struct DescribeWork<T>(pub Arc<Analyzer>, std::marker::PhantomData<fn() -> T>);

impl<T: Clone + Send + Sync + 'static> Work for DescribeWork<T> {
    type Item = DescribeItem<T>;
    type Answer = FieldOutcome;
    type Output = (T, Described);

    fn requests(&self, item: &DescribeItem<T>) -> usize {
        if item.prompt.is_some() {
            item.asked.len()
        } else {
            0
        }
    }

    fn ask(&self, item: &DescribeItem<T>, j: usize) -> FieldOutcome {
        match (&item.prompt, item.asked.get(j)) {
            (Some(p), Some(&k)) => self.0.ask(k, p),
            _ => FieldOutcome::Failed("nothing to ask".into()),
        }
    }

    fn key(&self, item: &DescribeItem<T>, j: usize) -> Option<String> {
        match (&item.prompt, item.asked.get(j)) {
            (Some(p), Some(&k)) => Some(self.0.key(k, p)),
            _ => None,
        }
    }

    fn stored(&self, answer: &FieldOutcome) -> bool {
        // Every reply is cached before it is returned (a failed write is `Failed`).
        self.0.cache.is_some() && !matches!(answer, FieldOutcome::Failed(_))
    }

    fn failed(&self, message: String) -> FieldOutcome {
        FieldOutcome::Failed(message)
    }

    fn cached(&self, answer: &FieldOutcome) -> bool {
        answer.cached()
    }

    fn finish(&self, item: &DescribeItem<T>, answers: Vec<FieldOutcome>) -> (T, Described) {
        let mut described = if item.prompt.is_none() {
            Described {
                missing: item.asked.iter().map(|&k| FIELDS[k]).collect(),
                error: Some("the prompt is NULL: nothing to describe".into()),
                ..Described::default()
            }
        } else {
            assemble(&item.asked, answers)
        };
        described.asked = item.asked.clone();
        described.prompt_head = match &item.prompt {
            Some(t) => format!("{:?}", t.chars().take(60).collect::<String>()),
            None => "NULL".into(),
        };
        (item.carry.clone(), described)
    }
}

impl Analyzer {
    /// Starts describing the items `source` gives on `max_concurrency` threads, at most `ahead`
    /// items past the last one taken; see [`super::runner`].
    pub fn start<T: Clone + Send + Sync + 'static>(
        self: &Arc<Self>,
        source: Source<DescribeItem<T>>,
        ahead: usize,
        progress: Progress,
    ) -> Runner<DescribeWork<T>> {
        let threads = self.client.limits().max_concurrency;
        let work = DescribeWork(Arc::clone(self), std::marker::PhantomData);
        Runner::start(Arc::new(work), source, threads, ahead, progress)
    }
}

/// Parses a `fields :=` list: names from [`FIELDS`], in any order; the result in [`FIELDS`] order.
pub fn parse_fields(names: &[String]) -> Result<Vec<usize>, String> {
    let mut out = Vec::new();
    for n in names {
        let k = FIELDS
            .iter()
            .position(|f| *f == n.trim())
            .ok_or_else(|| format!("unknown field '{n}'; the fields are {}", FIELDS.join(", ")))?;
        if !out.contains(&k) {
            out.push(k);
        }
    }
    out.sort_unstable();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_has_its_instruction_options_and_schema() {
        for k in 0..8 {
            let s = field_spec(k);
            assert_eq!(s.name, FIELDS[k]);
            let m = message(k, "Say {hi}");
            assert!(m.starts_with(PREAMBLE), "{m}");
            assert!(m.contains(&format!("whose only key is \"{}\"", FIELDS[k])));
            assert!(m.ends_with("Data:\n[START]\n<|user|>\nSay {hi}\n[END]\n"));
            for o in s.options {
                assert!(m.contains(&format!("- {o}\n")), "{o}");
            }
            let rf = s.response_format();
            let prop = &rf["json_schema"]["schema"]["properties"][FIELDS[k]];
            let e = if s.max_items.is_some() { &prop["items"]["enum"] } else { &prop["enum"] };
            assert_eq!(e.as_array().unwrap().len(), s.options.len());
        }
    }

    #[test]
    fn answers_outside_the_options_are_no_value() {
        let safety = field_spec(4);
        assert_eq!(safety.parse("{\"safety_concern\": \"low\"}"), Ok(Answer::One("low".into())));
        for bad in [
            "{\"safety_concern\": \"Low\"}",
            "{\"safety\": \"low\"}",
            "low",
            "{\"safety_concern\": [\"low\"]}",
        ] {
            assert!(safety.parse(bad).is_err(), "{bad}");
        }
        let subj = field_spec(0);
        assert_eq!(
            subj.parse("{\"subject_of_expertise\": [\"Law\", \"History\", \"Law\"]}"),
            Ok(Answer::List(vec!["Law".into(), "History".into()]))
        );
        assert!(subj.parse("{\"subject_of_expertise\": [\"Law\", \"Cooking\"]}").is_err());
        assert!(subj.parse("{\"subject_of_expertise\": \"Law\"}").is_err());
        let fmt = field_spec(7);
        assert_eq!(fmt.parse("{\"format_constraints\": []}"), Ok(Answer::List(vec![])));
    }

    #[test]
    fn outcomes_assemble_into_fields_missing_and_error() {
        let d = assemble(
            &[0, 4, 5, 7],
            vec![
                FieldOutcome::Value(Answer::List(vec!["Law".into()]), true),
                FieldOutcome::Missing("x".into(), false),
                FieldOutcome::Failed("HTTP 500".into()),
                FieldOutcome::Value(Answer::List(vec![]), false),
            ],
        );
        assert_eq!(d.fields.subject_of_expertise, vec!["Law"]);
        assert_eq!(d.fields.safety_concern, None);
        assert_eq!(d.missing, vec!["safety_concern", "complexity_of_intents"]);
        assert_eq!(d.error.as_deref(), Some("complexity_of_intents: HTTP 500"));
        assert_eq!(d.cached, 1);
        assert_eq!(parse_fields(&["safety_concern".into(), "languages".into()]), Ok(vec![1, 4]));
        assert!(parse_fields(&["safety".into()]).unwrap_err().contains("subject_of_expertise"));
    }

    #[test]
    fn the_languages_offered_are_ones_the_rule_tagger_names() {
        let known = crate::tags::language::supported_languages();
        for l in LANGUAGES {
            assert!(known.contains(&l), "{l}");
        }
    }
}
