//! The pairwise judge: a versioned template, a constrained request, a strict parser,
//! and the confidence read from the answer token's log-probabilities.

use super::cache::{request_key, sha256_hex, Cache};
use super::client::Client;
use crate::data::Label;
use serde_json::{json, Value};

/// The built-in template's version; part of every cache key, bumped whenever its text changes.
pub const TEMPLATE_VERSION: &str = "pairwise-v1";

/// The system message of every judge request (built-in or user template).
pub const SYSTEM_PROMPT: &str = "You are a careful and impartial judge of AI assistant responses.";

/// The built-in user message; `{prompt}`, `{completion_a}` and `{completion_b}` are filled in.
pub const BUILTIN_TEMPLATE: &str = "Which response follows the instruction better? Judge whether it does \
exactly what the instruction asks, and is helpful, accurate and harmless. Do not let the order of the \
responses or their length influence you.

[Instruction]
{prompt}

[Response A]
{completion_a}

[Response B]
{completion_b}

Answer with A or B, as a JSON object: {\"answer\": \"A\"} or {\"answer\": \"B\"}.";

/// Decoding parameters of every judge request (also part of the cache key).
pub const SEED: u64 = 42;
const MAX_TOKENS: u64 = 24;
const TOP_LOGPROBS: u64 = 5;

/// A judge prompt template and the version string that goes into cache keys.
#[derive(Clone, Debug)]
pub struct Template {
    pub text: String,
    pub version: String,
}

impl Template {
    /// The built-in template.
    pub fn builtin() -> Template {
        Template { text: BUILTIN_TEMPLATE.to_string(), version: TEMPLATE_VERSION.to_string() }
    }

    /// A user template: must contain each placeholder. Its version is a hash of its text.
    pub fn user(text: String) -> Result<Template, String> {
        let missing: Vec<&str> = PLACEHOLDERS.iter().copied().filter(|p| !text.contains(p)).collect();
        if !missing.is_empty() {
            return Err(format!("the template lacks {}", missing.join(", ")));
        }
        let version = format!("user-{}", &sha256_hex(text.as_bytes())[..16]);
        Ok(Template { text, version })
    }

    /// The user message for one ordering, filled in one pass (text inside a completion is never re-expanded).
    pub fn fill(&self, prompt: &str, a: &str, b: &str) -> String {
        let mut out = String::with_capacity(self.text.len() + prompt.len() + a.len() + b.len());
        let mut rest = self.text.as_str();
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let tail = &rest[start..];
            match PLACEHOLDERS.iter().position(|p| tail.starts_with(p)) {
                Some(k) => {
                    out.push_str([prompt, a, b][k]);
                    rest = &tail[PLACEHOLDERS[k].len()..];
                }
                None => {
                    out.push('{');
                    rest = &tail[1..];
                }
            }
        }
        out.push_str(rest);
        out
    }
}

const PLACEHOLDERS: [&str; 3] = ["{prompt}", "{completion_a}", "{completion_b}"];

/// One verdict: which of the two shown responses won, and how sure the model was.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// The label in the order shown to the model (A = the first response shown).
    pub label: Label,
    /// P(label) / (P(A) + P(B)) from the answer token's top log-probabilities, if returned.
    pub confidence: Option<f64>,
    /// Whether the reply came from the cache (no request made).
    pub cached: bool,
}

/// Everything a judge request needs besides the pair.
pub struct Judge<'a> {
    pub client: &'a Client,
    pub model: &'a str,
    pub template: &'a Template,
    pub cache: Option<&'a Cache>,
}

impl Judge<'_> {
    /// The messages and decoding parameters of one ordering, and their cache key.
    fn request(&self, prompt: &str, first: &str, second: &str) -> (String, Value, Value) {
        let messages = json!([
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": self.template.fill(prompt, first, second)},
        ]);
        let decoding = decoding();
        let key = request_key(self.model, &self.template.version, &messages, &decoding);
        (key, messages, decoding)
    }

    /// The cache key of the request that [`Judge::ask`] makes for these texts.
    pub fn key(&self, prompt: &str, first: &str, second: &str) -> String {
        self.request(prompt, first, second).0
    }

    /// Asks which of `first` and `second` (shown as A and B) better follows `prompt`.
    pub fn ask(&self, prompt: &str, first: &str, second: &str) -> Result<Verdict, String> {
        let (key, messages, decoding) = self.request(prompt, first, second);
        if let Some(hit) = self.cache.and_then(|c| c.get(&key)) {
            if let Ok(mut v) = verdict_from_payload(&hit) {
                v.cached = true;
                return Ok(v);
            }
        }
        let mut body = decoding;
        body["model"] = json!(self.model);
        body["messages"] = messages;
        let reply = self.client.chat(&body).map_err(|e| e.message)?;
        let payload = payload_from_reply(&reply)?;
        let verdict = verdict_from_payload(&payload)?;
        if let Some(cache) = self.cache {
            cache.put(&key, &payload)?;
        }
        Ok(verdict)
    }
}

/// The decoding parameters: greedy, seeded, the reply constrained to `{"answer": "A"|"B"}`.
fn decoding() -> Value {
    json!({
        "temperature": 0,
        "seed": SEED,
        "max_tokens": MAX_TOKENS,
        "logprobs": true,
        "top_logprobs": TOP_LOGPROBS,
        "response_format": {
            "type": "json_schema",
            "json_schema": {
                "name": "verdict",
                "strict": true,
                "schema": {
                    "type": "object",
                    "properties": {"answer": {"type": "string", "enum": ["A", "B"]}},
                    "required": ["answer"],
                    "additionalProperties": false
                }
            }
        }
    })
}

/// What the cache keeps of a reply: its text and P(A), P(B) of the answer token (if known).
fn payload_from_reply(reply: &Value) -> Result<Value, String> {
    let choice = reply.get("choices").and_then(|c| c.get(0)).ok_or("the reply has no choices")?;
    let content = choice
        .get("message")
        .and_then(|m| m.get("content"))
        .and_then(Value::as_str)
        .ok_or("the reply has no message content")?;
    let (p_a, p_b) = answer_probabilities(choice.get("logprobs")).unzip();
    Ok(json!({"content": content, "p_a": p_a, "p_b": p_b}))
}

/// The verdict of a payload; a reply that is not exactly `{"answer": "A"|"B"}` is an error.
fn verdict_from_payload(payload: &Value) -> Result<Verdict, String> {
    let content = payload.get("content").and_then(Value::as_str).unwrap_or("");
    let label = parse_answer(content)?;
    let p_a = payload.get("p_a").and_then(Value::as_f64);
    let p_b = payload.get("p_b").and_then(Value::as_f64);
    let confidence = match (p_a, p_b) {
        (Some(a), Some(b)) if a + b > 0.0 => Some(if label == Label::A { a } else { b } / (a + b)),
        _ => None,
    };
    Ok(Verdict { label, confidence, cached: false })
}

/// Parses the reply text strictly.
pub fn parse_answer(content: &str) -> Result<Label, String> {
    let bad = || {
        let shown: String = content.chars().take(80).collect();
        format!("the model's reply is not {{\"answer\": \"A\"|\"B\"}}: {shown:?}")
    };
    let v: Value = serde_json::from_str(content.trim()).map_err(|_| bad())?;
    let obj = v.as_object().filter(|o| o.len() == 1).ok_or_else(bad)?;
    match obj.get("answer").and_then(Value::as_str) {
        Some("A") => Ok(Label::A),
        Some("B") => Ok(Label::B),
        _ => Err(bad()),
    }
}

/// P(A) and P(B) at the answer token: the first generated token that reads `A` or `B` once
/// quotes and spaces are stripped; probabilities summed over its top alternatives.
fn answer_probabilities(logprobs: Option<&Value>) -> Option<(f64, f64)> {
    let tokens = logprobs?.get("content")?.as_array()?;
    let strip = |t: &str| t.trim_matches(|c: char| c.is_whitespace() || c == '"').to_string();
    let answer = tokens
        .iter()
        .find(|t| matches!(t.get("token").and_then(Value::as_str).map(strip).as_deref(), Some("A" | "B")))?;
    let mut p = [0.0f64; 2];
    let mut seen = [false; 2];
    let add = |p: &mut [f64; 2], seen: &mut [bool; 2], token: Option<&str>, logprob: Option<f64>| {
        if let (Some(t), Some(lp)) = (token, logprob) {
            let k = match strip(t).as_str() {
                "A" => 0,
                "B" => 1,
                _ => return,
            };
            if lp.is_finite() {
                p[k] += lp.exp();
            }
            seen[k] = true;
        }
    };
    for alt in answer.get("top_logprobs").and_then(Value::as_array).into_iter().flatten() {
        add(
            &mut p,
            &mut seen,
            alt.get("token").and_then(Value::as_str),
            alt.get("logprob").and_then(Value::as_f64),
        );
    }
    let chosen = answer.get("token").and_then(Value::as_str).map(strip).unwrap_or_default();
    let k = usize::from(chosen == "B");
    if !seen[k] {
        add(&mut p, &mut seen, Some(&chosen), answer.get("logprob").and_then(Value::as_f64));
    }
    Some((p[0], p[1]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_in_one_pass() {
        let t = Template::builtin();
        let s = t.fill("say {completion_b}", "x {prompt}", "y");
        assert!(s.contains("[Instruction]\nsay {completion_b}\n"));
        assert!(s.contains("[Response A]\nx {prompt}\n"));
        assert!(s.ends_with("{\"answer\": \"A\"} or {\"answer\": \"B\"}."));
        assert!(Template::user("{prompt} {completion_a}".into()).unwrap_err().contains("{completion_b}"));
        let u = Template::user("{prompt}|{completion_a}|{completion_b}".into()).unwrap();
        assert_eq!(u.fill("p", "a", "b"), "p|a|b");
        assert!(u.version.starts_with("user-"));
    }

    #[test]
    fn replies_are_parsed_strictly() {
        assert_eq!(parse_answer("{\"answer\": \"A\"}"), Ok(Label::A));
        assert_eq!(parse_answer(" {\"answer\":\"B\"}\n"), Ok(Label::B));
        for bad in ["A", "{\"answer\": \"a\"}", "{\"answer\": \"C\"}", "{\"answer\": \"A\", \"x\": 1}", "{"] {
            assert!(parse_answer(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn confidence_is_normalised_over_a_and_b() {
        let reply = json!({"choices": [{"message": {"content": "{\"answer\": \"B\"}"}, "logprobs": {"content": [
            {"token": "{\"", "logprob": 0.0, "top_logprobs": []},
            {"token": "answer", "logprob": 0.0, "top_logprobs": []},
            {"token": "\":", "logprob": 0.0, "top_logprobs": []},
            {"token": " \"", "logprob": 0.0, "top_logprobs": []},
            {"token": "B", "logprob": (0.6f64).ln(), "top_logprobs": [
                {"token": "B", "logprob": (0.6f64).ln()}, {"token": "A", "logprob": (0.2f64).ln()},
                {"token": "x", "logprob": (0.1f64).ln()}]}]}}]});
        let v = verdict_from_payload(&payload_from_reply(&reply).unwrap()).unwrap();
        assert_eq!(v.label, Label::B);
        assert!((v.confidence.unwrap() - 0.75).abs() < 1e-12);
        let plain = json!({"choices": [{"message": {"content": "{\"answer\": \"A\"}"}}]});
        assert_eq!(verdict_from_payload(&payload_from_reply(&plain).unwrap()).unwrap().confidence, None);
    }
}
