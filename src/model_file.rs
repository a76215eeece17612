//! Which kind of routing model a `model :=` names.
//!
//! Routing scores instances with one of two kinds of model: a PPM (the
//! embedded `paper-prior` or a `prefroute-ppm/1` file written by `ppm_fit`),
//! whose routing maximises the predicted performance gain of the human set,
//! or a judge-error model (a `prefroute-risk/1` or `/2` file written by `risk_fit`),
//! whose routing sends the instances the AI judge most likely gets wrong to
//! humans. The file's own `format` field decides; the caller never says which.
//!
//! Contract: [`RoutingModel::load`] returns a validated model of the kind the
//! file declares, or the loader's error for that kind — a damaged risk file
//! is reported as a damaged risk file (its format is recognised from the
//! start of the text even when the JSON is truncated), never as a bad PPM.
//!
//! It sits above both `ppm`/`risk` and `route`: routing takes scores (a PPM or
//! per-instance probabilities) and never opens a model file itself.

use crate::ppm::{resolve_model, Model, PAPER_PRIOR};
use crate::risk::RiskModel;
use crate::Result;
use std::path::Path;
use std::sync::Arc;

/// A routing model of either kind.
#[derive(Clone, Debug)]
pub enum RoutingModel {
    Ppm(Arc<Model>),
    Risk(Arc<RiskModel>),
}

impl RoutingModel {
    /// Loads `name`: `paper-prior`, or a model file of either kind.
    pub fn load(name: &str) -> Result<RoutingModel> {
        if name != PAPER_PRIOR && is_risk_file(Path::new(name)) {
            return Ok(RoutingModel::Risk(Arc::new(RiskModel::load(Path::new(name))?)));
        }
        Ok(RoutingModel::Ppm(resolve_model(name)?))
    }
}

/// Does the file at `path` declare the judge-error model format?
fn is_risk_file(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else { return false };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
        // A truncated risk file still names its format near the start.
        return text.contains("prefroute-risk/");
    };
    v.get("format").and_then(|f| f.as_str()).is_some_and(|f| f.starts_with("prefroute-risk/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_files_format_decides_the_kind() {
        let dir = std::env::temp_dir().join(format!("prefroute-model-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models");
        let risk = fixtures.join("risk_small.json");
        assert!(matches!(RoutingModel::load(risk.to_str().unwrap()).unwrap(), RoutingModel::Risk(_)));
        assert!(matches!(RoutingModel::load(PAPER_PRIOR).unwrap(), RoutingModel::Ppm(_)));
        // A truncated risk file is a damaged risk file, not a bad PPM.
        let text = std::fs::read_to_string(&risk).unwrap();
        let torn = dir.join("torn.json");
        std::fs::write(&torn, &text[..text.len() / 2]).unwrap();
        let err = RoutingModel::load(torn.to_str().unwrap()).unwrap_err().to_string();
        assert_eq!(err, RiskModel::load(&torn).unwrap_err().to_string());
        assert_ne!(err, resolve_model(torn.to_str().unwrap()).unwrap_err().to_string());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
