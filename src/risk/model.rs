//! The judge-error model and its file, format `prefroute-risk/1`:
//!
//! ```json
//! {"format": "prefroute-risk/1",
//!  "features": ["ai_inconsistent", "rouge", "…"], "extra": [],
//!  "mean": [0.12, …], "scale": [0.33, …],
//!  "intercept": -1.4, "coef": [0.8, …],
//!  "meta": {"fitted_by": "risk_fit", …}}
//! ```
//!
//! `P(judge wrong | x) = σ(intercept + Σ_j coef_j · (x_j − mean_j) / scale_j)`,
//! with an unknown value (NaN) taken as its mean. Every feature is a built-in
//! one ([`super::features`]) or a column listed in `extra`. Reading checks
//! the format, the names, the lengths and that every number is finite (and
//! every scale positive); saving is atomic.

use super::features::{FeatureSet, InputSignals, JUDGE_FEATURES, MEASURE_FEATURES};
use super::logistic::sigmoid;
use crate::error::{Error, Result};
use crate::tags::tag_index;
use serde_json::{json, Map, Value};
use std::path::Path;

/// The `format` string of judge-error model files.
pub const RISK_FORMAT: &str = "prefroute-risk/1";

/// A fitted judge-error model.
#[derive(Clone, Debug, PartialEq)]
pub struct RiskModel {
    /// Where the model came from (a path, or "risk_fit"), for messages.
    pub name: String,
    pub features: Vec<String>,
    /// The numeric input columns among `features`.
    pub extra: Vec<String>,
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
    pub intercept: f64,
    pub coef: Vec<f64>,
    pub meta: Value,
}

impl RiskModel {
    /// P(the AI label is wrong) for one instance's raw feature values (in
    /// [`features`](Self::features) order; NaN = unknown).
    pub fn predict(&self, raw: &[f64]) -> f64 {
        let mut z = self.intercept;
        for (j, &v) in raw.iter().enumerate() {
            if !v.is_nan() {
                z += self.coef[j] * (v - self.mean[j]) / self.scale[j];
            }
        }
        sigmoid(z)
    }

    /// The features this model reads, resolved against what an input offers.
    /// A feature the input lacks is an error naming it.
    pub fn feature_set(&self, offered: &InputSignals, what: &str) -> Result<FeatureSet> {
        FeatureSet::catalogue(offered)?.select(&self.features, what)
    }

    /// Does the model read `ai_pref_alt` / `ai_confidence`?
    pub fn reads(&self, feature: &str) -> bool {
        self.features.iter().any(|f| f == feature)
    }

    /// Checks names, lengths and values.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String, hint: &str| Err(Error::model(&self.name, m, hint));
        let d = self.features.len();
        if d == 0 {
            return bad(
                "'features' is empty".into(),
                "a model needs at least one feature; refit with risk_fit",
            );
        }
        for (what, v) in [("mean", &self.mean), ("scale", &self.scale), ("coef", &self.coef)] {
            if v.len() != d {
                return bad(
                    format!("'{what}' has {} values for {d} features", v.len()),
                    "each of mean, scale and coef has one value per feature, in 'features' order",
                );
            }
        }
        for (k, f) in self.features.iter().enumerate() {
            if self.features[..k].contains(f) {
                return bad(format!("the feature '{f}' is listed twice"), "list each feature once");
            }
            let builtin = tag_index(f).is_some()
                || MEASURE_FEATURES.contains(&f.as_str())
                || JUDGE_FEATURES.contains(&f.as_str());
            if !builtin && !self.extra.contains(f) {
                return bad(
                    format!("unknown feature '{f}'"),
                    "features are tag names, measures (rouge, rouge_l, entity_sim, tfidf_cosine, cosine_sim, \
                     bertscore, bertscore_length, log_prompt_len, log_len_shorter, log_len_longer, \
                     log_len_ratio), judge signals (ai_inconsistent, ai_confidence, ai_tie, \
                     ai_prefers_longer), or input columns listed in 'extra'",
                );
            }
        }
        if let Some(e) = self.extra.iter().find(|e| !self.features.contains(e)) {
            return bad(
                format!("'extra' lists '{e}', which is not a feature"),
                "list only features in 'extra'",
            );
        }
        let numbers = std::iter::once(("intercept", 0, self.intercept))
            .chain(self.mean.iter().enumerate().map(|(k, v)| ("mean", k, *v)))
            .chain(self.scale.iter().enumerate().map(|(k, v)| ("scale", k, *v)))
            .chain(self.coef.iter().enumerate().map(|(k, v)| ("coef", k, *v)));
        for (what, k, v) in numbers {
            if !v.is_finite() {
                return bad(
                    format!("{what}[{k}] is {v}"),
                    "model numbers must be finite; refit with risk_fit",
                );
            }
        }
        if let Some(k) = self.scale.iter().position(|s| *s <= 0.0) {
            return bad(format!("scale[{k}] is {}, not positive", self.scale[k]), "refit with risk_fit");
        }
        Ok(())
    }

    /// The file's JSON text.
    pub fn to_json(&self) -> Result<String> {
        self.validate()?;
        // Keys in the documented order, one per line; arrays on one line each.
        let entries: [(&str, Value); 8] = [
            ("format", json!(RISK_FORMAT)),
            ("features", json!(self.features)),
            ("extra", json!(self.extra)),
            ("mean", json!(self.mean)),
            ("scale", json!(self.scale)),
            ("intercept", json!(self.intercept)),
            ("coef", json!(self.coef)),
            ("meta", self.meta.clone()),
        ];
        let body: Vec<String> = entries.iter().map(|(k, v)| format!("  \"{k}\": {v}")).collect();
        Ok(format!("{{\n{}\n}}\n", body.join(",\n")))
    }

    /// Parses and checks a model file's text; `name` is used in messages.
    pub fn from_json(text: &str, name: &str) -> Result<RiskModel> {
        let bad =
            |m: String| Error::model(name, m, "write judge-error model files with risk_fit(…, save := …)");
        let root: Value = serde_json::from_str(text).map_err(|e| {
            if e.is_eof() {
                Error::model(name, "the file ends early: truncated or empty JSON", "save the model again")
            } else {
                bad(format!("not valid JSON ({e})"))
            }
        })?;
        let Value::Object(obj) = root else { return Err(bad("the file is not a JSON object".into())) };
        match obj.get("format").and_then(Value::as_str) {
            Some(RISK_FORMAT) => {}
            other => {
                return Err(bad(format!("unknown format {other:?}; this build reads '{RISK_FORMAT}'")));
            }
        }
        let known = ["format", "features", "extra", "mean", "scale", "intercept", "coef", "meta"];
        if let Some(k) = obj.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(bad(format!("unknown key '{k}'")));
        }
        let strings = |key: &str, required: bool| -> Result<Vec<String>> {
            match obj.get(key) {
                None if !required => Ok(Vec::new()),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_string)
                            .ok_or_else(|| bad(format!("'{key}' holds {v}, not a name")))
                    })
                    .collect(),
                other => Err(bad(format!("'{key}' must be an array of names, got {}", shown(other)))),
            }
        };
        let numbers = |key: &str| -> Result<Vec<f64>> {
            match obj.get(key) {
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|v| v.as_f64().ok_or_else(|| bad(format!("'{key}' holds {v}, not a number"))))
                    .collect(),
                other => Err(bad(format!("'{key}' must be an array of numbers, got {}", shown(other)))),
            }
        };
        let model = RiskModel {
            name: name.to_string(),
            features: strings("features", true)?,
            extra: strings("extra", false)?,
            mean: numbers("mean")?,
            scale: numbers("scale")?,
            intercept: obj.get("intercept").and_then(Value::as_f64).ok_or_else(|| {
                bad(format!("'intercept' must be a number, got {}", shown(obj.get("intercept"))))
            })?,
            coef: numbers("coef")?,
            meta: obj.get("meta").cloned().unwrap_or(Value::Object(Map::new())),
        };
        model.validate()?;
        Ok(model)
    }

    /// Reads and checks a model file.
    pub fn load(path: &Path) -> Result<RiskModel> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::model(&name, format!("cannot read the model file: {e}"), "check the path"))?;
        RiskModel::from_json(&text, &name)
    }

    /// Writes the model file atomically.
    pub fn save_atomic(&self, path: &Path) -> Result<()> {
        crate::ppm::write_atomic(path, &self.to_json()?, "model")
    }
}

fn shown(v: Option<&Value>) -> String {
    match v {
        None => "nothing".into(),
        Some(v) => {
            let s = v.to_string();
            if s.chars().count() > 40 {
                format!("{}…", s.chars().take(40).collect::<String>())
            } else {
                s
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> RiskModel {
        RiskModel {
            name: "m".into(),
            features: vec!["ai_inconsistent".into(), "rouge".into(), "votes".into()],
            extra: vec!["votes".into()],
            mean: vec![0.1, 0.5, 2.0],
            scale: vec![0.3, 0.2, 1.0],
            intercept: -1.0,
            coef: vec![1.5, -0.25, 0.125],
            meta: json!({"fitted_by": "test"}),
        }
    }

    #[test]
    fn round_trips_exactly_and_predicts_with_the_mean_for_unknowns() {
        let m = model();
        let back = RiskModel::from_json(&m.to_json().unwrap(), "m").unwrap();
        assert_eq!(back, m);
        let z: f64 = -1.0 + 1.5 * (1.0 - 0.1) / 0.3 + 0.125 * (4.0 - 2.0);
        assert!((m.predict(&[1.0, f64::NAN, 4.0]) - 1.0 / (1.0 + (-z).exp())).abs() < 1e-15);
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let text = model().to_json().unwrap();
        let cases = [
            (text.replace("prefroute-risk/1", "prefroute-ppm/1"), "unknown format"),
            (text.replace("\"votes\",\n    \"", "\"votes\", \"rouge\",\n    \"").replace("zzz", ""), ""),
            (text.replace("\"ai_inconsistent\"", "\"ai_inconsistant\""), "unknown feature 'ai_inconsistant'"),
            (text.replace("-0.25", "-0.25, 1.0"), "'coef' has 4 values for 3 features"),
            (text.replace("0.3", "0.0"), "scale[0] is 0"),
            (text[..text.len() / 2].to_string(), "truncated"),
            (text.replace("\"meta\"", "\"metta\""), "unknown key 'metta'"),
        ];
        for (t, want) in cases {
            if want.is_empty() {
                continue;
            }
            let e = RiskModel::from_json(&t, "f.json").unwrap_err().to_string();
            assert!(e.contains(want) && e.contains("'f.json'"), "want {want}: {e}");
        }
        let mut nan = model();
        nan.coef[1] = f64::NAN;
        assert!(nan.to_json().unwrap_err().to_string().contains("coef[1] is NaN"));
    }
}
