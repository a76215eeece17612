//! The judge-error model and its file, format `prefroute-risk/2`:
//!
//! ```json
//! {"format": "prefroute-risk/2",
//!  "features": ["ai_inconsistent", "rouge", "…"], "extra": [],
//!  "mean": [0.12, …], "scale": [0.33, …],
//!  "intercept": -1.4, "coef": [0.8, …],
//!  "platt": {"slope": 0.62, "intercept": -0.41},
//!  "calibration": {"p": [0.31, …], "wrong": [0, 1, …]},
//!  "meta": {"fitted_by": "risk_fit", …}}
//! ```
//!
//! `P(judge wrong | x) = σ(a · z + b)`, `z = intercept + Σ_j coef_j · (x_j −
//! mean_j) / scale_j`, with an unknown value (NaN) taken as its mean and
//! `(a, b)` the Platt scaling (`a = 1, b = 0` without one). Every feature is a
//! built-in one ([`super::features`]) or a column listed in `extra`.
//! `calibration` holds each training row's cross-fitted probability (before
//! Platt scaling) and whether the judge was wrong on it: the data Platt
//! scaling is fitted on and `confidence :=` promises with
//! ([`crate::guarantee`]). Version 1 files (no `calibration`) are still read
//! and route as before; only a promise needs version 2. Reading checks the
//! format, the names, the lengths and that every number is finite (every
//! scale positive, every calibration probability in [0, 1]); saving is atomic.

use super::features::{FeatureSet, InputSignals, JUDGE_FEATURES, MEASURE_FEATURES};
use super::logistic::sigmoid;
use crate::error::{Error, Result};
use crate::tags::tag_index;
use serde_json::{json, Map, Value};
use std::path::Path;

/// The `format` string of the judge-error model files this build writes.
pub const RISK_FORMAT: &str = "prefroute-risk/2";
/// The earlier format, still read: no calibration data.
pub const RISK_FORMAT_V1: &str = "prefroute-risk/1";

/// Platt scaling: `σ(slope · logit(p) + intercept)`, fitted on held-out
/// probabilities so that the model's `p` means what it says (the logistic
/// model's own probabilities spread too wide when fitted on a small seed).
/// The slope is positive, so the order of the probabilities, and with it every
/// routing, is unchanged.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Platt {
    pub slope: f64,
    pub intercept: f64,
}

impl Platt {
    /// The recalibrated probability of an uncalibrated `p`.
    pub fn apply(&self, p: f64) -> f64 {
        sigmoid(self.slope * logit(p) + self.intercept)
    }
}

/// `ln(p / (1 − p))`, with `p` clipped to [1e-15, 1 − 1e-15].
pub fn logit(p: f64) -> f64 {
    let q = p.clamp(1e-15, 1.0 - 1e-15);
    (q / (1.0 - q)).ln()
}

/// The cross-fitted predictions of a model's training rows.
#[derive(Clone, Debug, PartialEq)]
pub struct CalibrationData {
    /// Each row's probability, from a model fitted without it.
    pub p: Vec<f64>,
    /// Whether the judge was wrong on it.
    pub wrong: Vec<bool>,
}

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
    /// `None`: no recalibration (a `prefroute-risk/1` file, or a fit whose
    /// held-out probabilities gave no positive slope).
    pub platt: Option<Platt>,
    /// `None` for a `prefroute-risk/1` file.
    pub calibration: Option<CalibrationData>,
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
        match self.platt {
            Some(pl) => sigmoid(pl.slope * z + pl.intercept),
            None => sigmoid(z),
        }
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

    /// The calibration rows a promise (`confidence :=`) is tested on; an
    /// error naming the file when it has none.
    pub fn calibration_set(&self) -> Result<crate::guarantee::Calibration> {
        match &self.calibration {
            // On the scale of `predict`: the threshold is compared with its output.
            Some(c) => {
                let p: Vec<f64> = match self.platt {
                    Some(pl) => c.p.iter().map(|p| pl.apply(*p)).collect(),
                    None => c.p.clone(),
                };
                Ok(crate::guarantee::Calibration::new(&p, &c.wrong))
            }
            None => Err(Error::model(
                &self.name,
                format!(
                    "it has no calibration data ('{RISK_FORMAT_V1}', written before confidence := existed), which \
                     confidence := needs"
                ),
                "refit it with risk_fit(…, save := …): this version stores the cross-fitted predictions of its \
                 rows; or leave out confidence := for the expected accuracy alone",
            )),
        }
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
        if let Some(pl) = self.platt {
            if !(pl.slope > 0.0 && pl.slope.is_finite() && pl.intercept.is_finite()) {
                return bad(
                    format!(
                        "platt is {{slope: {}, intercept: {}}}; the slope must be positive",
                        pl.slope, pl.intercept
                    ),
                    "refit with risk_fit",
                );
            }
            if self.calibration.is_none() {
                return bad("'platt' without 'calibration'".into(), "refit with risk_fit");
            }
        }
        if let Some(c) = &self.calibration {
            if c.p.len() != c.wrong.len() || c.p.is_empty() {
                return bad(
                    format!("'calibration' has {} probabilities and {} outcomes", c.p.len(), c.wrong.len()),
                    "calibration holds one probability and one outcome per training row; refit with risk_fit",
                );
            }
            if let Some(k) = c.p.iter().position(|p| !(0.0..=1.0).contains(p)) {
                return bad(
                    format!("calibration p[{k}] is {}, not a probability", c.p[k]),
                    "refit with risk_fit",
                );
            }
        }
        Ok(())
    }

    /// The file's JSON text.
    pub fn to_json(&self) -> Result<String> {
        self.validate()?;
        // Keys in the documented order, one per line; arrays on one line each.
        let calibration = self
            .calibration
            .as_ref()
            .map(|c| json!({"p": c.p, "wrong": c.wrong.iter().map(|w| u8::from(*w)).collect::<Vec<u8>>()}));
        let format = if calibration.is_some() { RISK_FORMAT } else { RISK_FORMAT_V1 };
        let platt = self.platt.map(|pl| json!({"slope": pl.slope, "intercept": pl.intercept}));
        let entries: [(&str, Option<Value>); 10] = [
            ("format", Some(json!(format))),
            ("features", Some(json!(self.features))),
            ("extra", Some(json!(self.extra))),
            ("mean", Some(json!(self.mean))),
            ("scale", Some(json!(self.scale))),
            ("intercept", Some(json!(self.intercept))),
            ("coef", Some(json!(self.coef))),
            ("platt", platt),
            ("calibration", calibration),
            ("meta", Some(self.meta.clone())),
        ];
        let body: Vec<String> =
            entries.iter().filter_map(|(k, v)| v.as_ref().map(|v| format!("  \"{k}\": {v}"))).collect();
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
        let version = match obj.get("format").and_then(Value::as_str) {
            Some(RISK_FORMAT_V1) => 1,
            Some(RISK_FORMAT) => 2,
            other => {
                return Err(bad(format!(
                    "unknown format {other:?}; this build reads '{RISK_FORMAT_V1}' and '{RISK_FORMAT}'"
                )));
            }
        };
        let known = [
            "format",
            "features",
            "extra",
            "mean",
            "scale",
            "intercept",
            "coef",
            "platt",
            "calibration",
            "meta",
        ];
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
            platt: match (version, obj.get("platt")) {
                (_, None) => None,
                (1, Some(_)) => return Err(bad(format!("'platt' is not part of '{RISK_FORMAT_V1}'"))),
                (_, Some(v)) => {
                    let get = |k: &str| v.get(k).and_then(Value::as_f64);
                    match (get("slope"), get("intercept"), v.as_object().map(Map::len)) {
                        (Some(slope), Some(intercept), Some(2)) => Some(Platt { slope, intercept }),
                        _ => {
                            return Err(bad(format!(
                                "'platt' must be {{\"slope\": number, \"intercept\": number}}, got {}",
                                shown(Some(v))
                            )))
                        }
                    }
                }
            },
            calibration: match (version, obj.get("calibration")) {
                (1, None) => None,
                (1, Some(_)) => {
                    return Err(bad(format!("'calibration' is not part of '{RISK_FORMAT_V1}'")));
                }
                (_, Some(Value::Object(c))) => Some(calibration_of(c).map_err(bad)?),
                (_, other) => {
                    return Err(bad(format!(
                        "'calibration' must be an object {{\"p\": […], \"wrong\": […]}}, got {}",
                        shown(other)
                    )))
                }
            },
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
        crate::atomic_file::write_atomic(path, &self.to_json()?, "model")
    }
}

/// Reads `{"p": [numbers], "wrong": [0 or 1, …]}`; the lengths are checked by `validate`.
fn calibration_of(c: &Map<String, Value>) -> std::result::Result<CalibrationData, String> {
    if let Some(k) = c.keys().find(|k| *k != "p" && *k != "wrong") {
        return Err(format!("unknown key 'calibration.{k}'"));
    }
    let array = |key: &str| match c.get(key) {
        Some(Value::Array(a)) => Ok(a),
        other => Err(format!("'calibration.{key}' must be an array, got {}", shown(other))),
    };
    let p = array("p")?
        .iter()
        .map(|v| v.as_f64().ok_or_else(|| format!("'calibration.p' holds {v}, not a number")))
        .collect::<std::result::Result<Vec<f64>, String>>()?;
    let wrong = array("wrong")?
        .iter()
        .map(|v| match v.as_u64() {
            Some(0) => Ok(false),
            Some(1) => Ok(true),
            _ => Err(format!("'calibration.wrong' holds {v}, not 0 or 1")),
        })
        .collect::<std::result::Result<Vec<bool>, String>>()?;
    Ok(CalibrationData { p, wrong })
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
            platt: Some(Platt { slope: 0.5, intercept: -0.375 }),
            calibration: Some(CalibrationData { p: vec![0.25, 0.5, 0.125], wrong: vec![false, true, true] }),
            meta: json!({"fitted_by": "test"}),
        }
    }

    #[test]
    fn round_trips_exactly_and_predicts_with_the_mean_for_unknowns() {
        let m = model();
        let text = m.to_json().unwrap();
        assert!(
            text.contains("\"format\": \"prefroute-risk/2\"") && text.contains("\"wrong\":[0,1,1]"),
            "{text}"
        );
        let back = RiskModel::from_json(&text, "m").unwrap();
        assert_eq!(back, m);
        // Calibration rows on the scale of predict: Platt-scaled.
        let pl = |p: f64| 1.0 / (1.0 + (-(0.5 * (p / (1.0 - p)).ln() - 0.375)).exp());
        let cal = back.calibration_set().unwrap();
        assert_eq!((cal.rows(), cal.wrong()), (3, 2));
        for (got, want) in cal.wrong_p().iter().zip([pl(0.125), pl(0.5)]) {
            assert!((got - want).abs() < 1e-15, "{got} vs {want}");
        }
        // A version 1 file (no calibration) still reads, routes, and says why it cannot promise.
        let v1 = RiskModel { calibration: None, platt: None, ..m.clone() };
        let text = v1.to_json().unwrap();
        assert!(text.contains("prefroute-risk/1") && !text.contains("calibration"));
        let back = RiskModel::from_json(&text, "old.json").unwrap();
        assert_eq!(back.calibration, None);
        let e = back.calibration_set().unwrap_err().to_string();
        assert!(e.starts_with("model 'old.json': it has no calibration data"), "{e}");
        let z: f64 = -1.0 + 1.5 * (1.0 - 0.1) / 0.3 + 0.125 * (4.0 - 2.0);
        assert!((v1.predict(&[1.0, f64::NAN, 4.0]) - 1.0 / (1.0 + (-z).exp())).abs() < 1e-15);
        let scaled = 0.5 * z - 0.375;
        assert!((m.predict(&[1.0, f64::NAN, 4.0]) - 1.0 / (1.0 + (-scaled).exp())).abs() < 1e-15);
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let text = model().to_json().unwrap();
        let cases = [
            (text.replace("prefroute-risk/2", "prefroute-ppm/1"), "unknown format"),
            (text.replace("[0,1,1]", "[0,1]"), "'calibration' has 3 probabilities and 2 outcomes"),
            (text.replace("[0,1,1]", "[0,2,1]"), "'calibration.wrong' holds 2, not 0 or 1"),
            (text.replace("[0.25,", "[1.25,"), "calibration p[0] is 1.25, not a probability"),
            (text.replace("\"wrong\"", "\"wrang\""), "unknown key 'calibration.wrang'"),
            (
                text.replace("prefroute-risk/2", "prefroute-risk/1"),
                "'platt' is not part of 'prefroute-risk/1'",
            ),
            (text.replace("\"slope\":0.5", "\"slope\":-0.5"), "the slope must be positive"),
            (text.replace("\"slope\":0.5", "\"slop\":0.5"), "'platt' must be {\"slope\": number"),
            (
                text.replace("prefroute-risk/2", "prefroute-risk/1")
                    .replace("  \"platt\": {\"intercept\":-0.375,\"slope\":0.5},\n", ""),
                "'calibration' is not part of 'prefroute-risk/1'",
            ),
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
