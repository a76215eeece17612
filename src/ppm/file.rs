//! The model file: JSON, format `prefroute-ppm/1`.
//!
//! ```json
//! {
//!   "format": "prefroute-ppm/1",
//!   "form": "quadratic",
//!   "tags": ["bertscore::min_val=0.0|max_val=0.33", "…"],
//!   "intercept": 0.61,
//!   "linear": [0.0012, …],
//!   "quadratic": [[0, 0, -1.5e-6], [0, 1, 2.0e-7], …],
//!   "meta": {"fitted_by": "prefroute 0.1.0", …}
//! }
//! ```
//!
//! `tags` fixes the column order (any subset of the canonical tag names, each
//! at most once); `linear` has one coefficient per column; each `quadratic`
//! entry `[i, j, coef]` with `i ≤ j` indexes columns and adds `coef·c_i·c_j`.
//! `quadratic` may be omitted (or empty) for a linear model; `meta` is a free
//! JSON object. Reading checks everything and says what to fix; saving is
//! atomic (temporary file in the same directory, then rename). Numbers are
//! written in shortest round-trip form, so save → load is exact.

use super::model::{Form, Model};
use crate::atomic_file::write_atomic;
use crate::error::{Error, Result};
use crate::tags::{tag_index, N_TAGS, TAG_NAMES};
use once_cell::sync::Lazy;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// The `format` string of the model files this build reads and writes.
pub const FORMAT: &str = "prefroute-ppm/1";

/// Name of the embedded model that needs no file.
pub const PAPER_PRIOR: &str = "paper-prior";

const KEYS: [&str; 7] = ["format", "form", "tags", "intercept", "linear", "quadratic", "meta"];
const EXPORT_HINT: &str = "write model files with ppm_fit, or convert a scikit-learn pickle with \
                           examples/export_sklearn_ppm.py";

impl Model {
    /// Parses a model file's text; `name` (usually the path) is used in messages.
    pub fn from_json(text: &str, name: &str) -> Result<Model> {
        let bad = |message: String, hint: &str| Error::model(name, message, hint);
        let root: Value = serde_json::from_str(text).map_err(|e| json_error(name, text, &e))?;
        let Value::Object(obj) = root else {
            return Err(bad("the file is JSON but not an object".into(), EXPORT_HINT));
        };
        let unknown: Vec<&str> = obj.keys().map(String::as_str).filter(|k| !KEYS.contains(k)).collect();
        if !unknown.is_empty() {
            return Err(bad(
                format!("unknown field(s) {}", quoted(&unknown)),
                &format!("a {FORMAT} file has only the fields {}", quoted(&KEYS)),
            ));
        }
        match obj.get("format") {
            Some(Value::String(f)) if f == FORMAT => {}
            Some(Value::String(f)) if f.starts_with("prefroute-ppm/") => {
                return Err(bad(
                    format!("unknown model format version '{f}'"),
                    &format!("this prefroute reads '{FORMAT}': upgrade prefroute, or re-export the model"),
                ))
            }
            Some(other) => {
                return Err(bad(
                    format!("'format' is {other}, not '{FORMAT}': not a prefroute model file"),
                    EXPORT_HINT,
                ))
            }
            None => return Err(bad(format!("no 'format' field: not a {FORMAT} model file"), EXPORT_HINT)),
        }
        let form = match obj.get("form").and_then(Value::as_str) {
            Some("linear") => Form::Linear,
            Some("quadratic") => Form::Quadratic,
            _ => {
                return Err(bad(
                    format!("'form' must be \"linear\" or \"quadratic\", got {}", show(obj.get("form"))),
                    "set form to the shape of the model",
                ))
            }
        };
        let tags = parse_tags(name, &obj)?;
        let intercept = number(name, obj.get("intercept"), "intercept")?;
        let linear = match obj.get("linear") {
            Some(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(k, v)| number(name, Some(v), &format!("linear[{k}]")))
                .collect::<Result<_>>()?,
            other => {
                return Err(bad(
                    format!("'linear' must be an array of numbers, got {}", show(other)),
                    "give one linear coefficient per entry of 'tags'",
                ))
            }
        };
        let quadratic = match obj.get("quadratic") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => {
                a.iter().enumerate().map(|(k, v)| quadratic_term(name, k, v)).collect::<Result<_>>()?
            }
            Some(other) => {
                return Err(bad(
                    format!(
                        "'quadratic' must be an array of [i, j, coef] triples, got {}",
                        show(Some(other))
                    ),
                    "list each quadratic term as [i, j, coef] with column indices i ≤ j",
                ))
            }
        };
        let meta = match obj.get("meta") {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(m @ Value::Object(_)) => m.clone(),
            Some(other) => {
                return Err(bad(
                    format!("'meta' must be a JSON object, got {}", show(Some(other))),
                    "or leave it out",
                ))
            }
        };
        let model = Model { name: name.to_string(), form, tags, intercept, linear, quadratic, meta };
        model.validate()?;
        Ok(model)
    }

    /// Checks the invariants a model file must satisfy: known, distinct tags;
    /// one linear coefficient per tag; quadratic indices `i ≤ j < n_tags`, each
    /// pair once, only in a quadratic model; every coefficient finite.
    pub fn validate(&self) -> Result<()> {
        let bad = |message: String, hint: &str| Err(Error::model(&self.name, message, hint));
        let n = self.tags.len();
        if let Some(&t) = self.tags.iter().find(|&&t| t >= N_TAGS) {
            return bad(format!("tag index {t} is not one of the {N_TAGS} canonical tags"), "this is a bug");
        }
        let mut seen = HashSet::new();
        if let Some(&t) = self.tags.iter().find(|&&t| !seen.insert(t)) {
            return bad(format!("tag '{}' is listed twice in 'tags'", TAG_NAMES[t]), "list each tag once");
        }
        if self.linear.len() != n {
            return bad(
                format!("wrong number of linear coefficients: {} for {n} tags", self.linear.len()),
                "'linear' needs exactly one coefficient per entry of 'tags', in the same order",
            );
        }
        if !self.intercept.is_finite() {
            return bad(format!("intercept is {}", self.intercept), NON_FINITE_HINT);
        }
        if let Some(k) = self.linear.iter().position(|w| !w.is_finite()) {
            return bad(
                format!("linear[{k}] (tag '{}') is {}", TAG_NAMES[self.tags[k]], self.linear[k]),
                NON_FINITE_HINT,
            );
        }
        if self.form == Form::Linear && !self.quadratic.is_empty() {
            return bad(
                format!("a linear model with {} quadratic terms", self.quadratic.len()),
                "set form to \"quadratic\", or drop the 'quadratic' field",
            );
        }
        let mut pairs = HashSet::new();
        for (k, &(i, j, q)) in self.quadratic.iter().enumerate() {
            if i > j {
                return bad(
                    format!("quadratic[{k}] = [{i}, {j}, …] has i > j"),
                    "write each term with i ≤ j",
                );
            }
            if j >= n {
                return bad(
                    format!("quadratic[{k}] = [{i}, {j}, …] indexes column {j}, but there are only {n} tags"),
                    "indices are 0-based positions in 'tags'",
                );
            }
            if !q.is_finite() {
                return bad(
                    format!("quadratic[{k}] = [{i}, {j}, {q}]: coefficient is not finite"),
                    NON_FINITE_HINT,
                );
            }
            if !pairs.insert((i, j)) {
                return bad(
                    format!("quadratic term [{i}, {j}] is listed twice"),
                    "list each (i, j) pair once",
                );
            }
        }
        Ok(())
    }

    /// The model as a model-file text (fails, rather than writing an unreadable
    /// file, when the model is invalid, e.g. has a NaN coefficient).
    pub fn to_json(&self) -> Result<String> {
        self.validate()?;
        let num = |x: f64| Value::from(x).to_string();
        let mut s = String::new();
        s.push_str(&format!(
            "{{\n  \"format\": \"{FORMAT}\",\n  \"form\": \"{}\",\n  \"tags\": [",
            self.form.as_str()
        ));
        let names: Vec<String> = self.tag_names().map(|t| format!("\n    {}", Value::from(t))).collect();
        s.push_str(&names.join(","));
        s.push_str(&format!("\n  ],\n  \"intercept\": {},\n  \"linear\": [", num(self.intercept)));
        let linear: Vec<String> = self.linear.iter().map(|w| format!("\n    {}", num(*w))).collect();
        s.push_str(&linear.join(","));
        s.push_str("\n  ],\n  \"quadratic\": [");
        let quad: Vec<String> =
            self.quadratic.iter().map(|&(i, j, q)| format!("\n    [{i}, {j}, {}]", num(q))).collect();
        s.push_str(&quad.join(","));
        let meta = if self.meta.is_object() { self.meta.clone() } else { Value::Object(Map::new()) };
        let meta = serde_json::to_string_pretty(&meta).map_err(|e| Error::Internal(e.to_string()))?;
        s.push_str(&format!("\n  ],\n  \"meta\": {}\n}}\n", meta.replace('\n', "\n  ")));
        Ok(s)
    }

    /// Reads and checks a model file.
    pub fn load(path: impl AsRef<Path>) -> Result<Model> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::model(
                &name,
                format!("cannot read the model file: {e}"),
                format!("give the path of a model file, or '{PAPER_PRIOR}' for the embedded prior"),
            )
        })?;
        Model::from_json(&text, &name)
    }

    /// Writes the model file atomically: a temporary file in the same directory, flushed, then renamed
    /// over `path`.
    pub fn save_atomic(&self, path: impl AsRef<Path>) -> Result<()> {
        write_atomic(path.as_ref(), &self.to_json()?, "model")
    }
}

/// The model named `paper-prior`, or the model file at this path. Files are
/// cached by path and reloaded when their modification time or size changes.
pub fn resolve_model(name_or_path: &str) -> Result<Arc<Model>> {
    static PRIOR: Lazy<Arc<Model>> = Lazy::new(|| Arc::new(Model::paper_prior()));
    /// Path → (modification time, size in bytes, model) as of the last load.
    type Cache = HashMap<PathBuf, (SystemTime, u64, Arc<Model>)>;
    static CACHE: Lazy<Mutex<Cache>> = Lazy::new(Default::default);
    if name_or_path == PAPER_PRIOR {
        return Ok(PRIOR.clone());
    }
    if name_or_path.trim().is_empty() {
        return Err(Error::model(
            "",
            "no model given",
            format!("give '{PAPER_PRIOR}' or the path of a model file written by ppm_fit"),
        ));
    }
    let path = PathBuf::from(name_or_path);
    let stat = std::fs::metadata(&path).map_err(|e| {
        Error::model(
            name_or_path,
            format!("cannot read the model file: {e}"),
            format!("give the path of a model file, or '{PAPER_PRIOR}' for the embedded prior"),
        )
    })?;
    let stamp = (stat.modified().unwrap_or(SystemTime::UNIX_EPOCH), stat.len());
    let key = std::fs::canonicalize(&path).unwrap_or(path);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((mtime, len, model)) = cache.get(&key) {
        if (*mtime, *len) == stamp {
            return Ok(model.clone());
        }
    }
    let model = Arc::new(Model::load(name_or_path)?);
    cache.insert(key, (stamp.0, stamp.1, model.clone()));
    Ok(model)
}

const NON_FINITE_HINT: &str = "model coefficients must be finite numbers: refit (a small l2 > 0 keeps an \
                               ill-conditioned fit finite) or check the exported model";

/// A JSON syntax error, explained: truncation, NaN/Infinity tokens, or other.
fn json_error(name: &str, text: &str, e: &serde_json::Error) -> Error {
    let at = format!("line {}, column {}", e.line(), e.column());
    if e.is_eof() {
        return Error::model(
            name,
            format!("the file ends early ({at}): truncated or empty JSON"),
            "the file was probably cut short by an interrupted copy or write; save or export it again",
        );
    }
    // What stands where the parser gave up: Python's json writes NaN, Infinity, -Infinity.
    let near: String = text
        .lines()
        .nth(e.line().saturating_sub(1))
        .unwrap_or("")
        .chars()
        .skip(e.column().saturating_sub(2))
        .take(10)
        .collect::<String>()
        .to_ascii_lowercase();
    if e.to_string().contains("number out of range") || near.contains("nan") || near.contains("inf") {
        return Error::model(
            name,
            format!("a coefficient is NaN or infinite, which model files cannot hold ({at}: {e})"),
            NON_FINITE_HINT,
        );
    }
    Error::model(name, format!("not valid JSON ({e})"), EXPORT_HINT)
}

fn parse_tags(name: &str, obj: &Map<String, Value>) -> Result<Vec<usize>> {
    let Some(Value::Array(items)) = obj.get("tags") else {
        return Err(Error::model(
            name,
            format!("'tags' must be an array of tag names, got {}", show(obj.get("tags"))),
            "list the model's columns by canonical tag name",
        ));
    };
    let mut tags = Vec::with_capacity(items.len());
    let mut unknown = Vec::new();
    for (k, item) in items.iter().enumerate() {
        match item.as_str() {
            Some(s) => match tag_index(s) {
                Some(t) => tags.push(t),
                None => unknown.push(s.to_string()),
            },
            None => {
                return Err(Error::model(
                    name,
                    format!("tags[{k}] is {item}, not a tag name"),
                    "each entry of 'tags' is a canonical tag name string",
                ))
            }
        }
    }
    if !unknown.is_empty() {
        let listed: Vec<&str> = unknown.iter().map(String::as_str).collect();
        return Err(Error::model(
            name,
            format!("{} unknown tag name(s): {}", unknown.len(), quoted(&listed)),
            format!(
                "tag names must match prefroute's {N_TAGS} canonical names exactly, e.g. '{}'",
                TAG_NAMES[0]
            ),
        ));
    }
    Ok(tags)
}

fn number(name: &str, v: Option<&Value>, what: &str) -> Result<f64> {
    match v {
        Some(Value::Number(x)) => x.as_f64().ok_or_else(|| Error::Internal(format!("{what}: {x} as f64"))),
        Some(Value::Null) => Err(Error::model(
            name,
            format!("{what} is null (a NaN or infinite value written as null?)"),
            NON_FINITE_HINT,
        )),
        other => {
            Err(Error::model(name, format!("{what} must be a number, got {}", show(other)), NON_FINITE_HINT))
        }
    }
}

fn quadratic_term(name: &str, k: usize, v: &Value) -> Result<(usize, usize, f64)> {
    let index = |x: &Value| x.as_u64().and_then(|i| usize::try_from(i).ok());
    match v.as_array().map(Vec::as_slice) {
        Some([i, j, c]) => match (index(i), index(j)) {
            (Some(i), Some(j)) => Ok((i, j, number(name, Some(c), &format!("quadratic[{k}] coefficient"))?)),
            _ => Err(Error::model(
                name,
                format!("quadratic[{k}] = {v}: indices must be non-negative integers"),
                "indices are 0-based positions in 'tags'",
            )),
        },
        _ => Err(Error::model(
            name,
            format!("quadratic[{k}] = {v} is not an [i, j, coef] triple"),
            "list each quadratic term as [i, j, coef] with column indices i ≤ j",
        )),
    }
}

fn show(v: Option<&Value>) -> String {
    match v {
        None => "nothing (the field is missing)".into(),
        Some(v) => {
            let s = v.to_string();
            if s.chars().count() > 60 {
                format!("{}…", s.chars().take(60).collect::<String>())
            } else {
                s
            }
        }
    }
}

fn quoted(items: &[&str]) -> String {
    items.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
