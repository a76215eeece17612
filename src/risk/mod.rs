//! The judge-error model: where is the AI judge wrong?
//!
//! A PPM ([`crate::ppm`]) predicts a downstream score from the tag counts of
//! the routed set. This module holds the other kind of routing model: for each
//! instance, `P(ai_pref ≠ human_pref | instance)`, learned from the user's own
//! rows that carry both labels. Routing under it maximises the hybrid
//! dataset's expected label accuracy `1 − Σ_{i routed to AI} p_i / n`, which is
//! exactly "send the `k` likeliest judge errors to humans".
//!
//! * [`features`] — what the model reads: the 90 tags, the raw measures, the
//!   judge's own signals (position inconsistency, confidence, ties, length
//!   preference) and numeric columns the user names;
//! * [`logistic`] — L2-regularised logistic regression (Newton's method), the
//!   objective of scikit-learn's `LogisticRegression(C = 1/l2)`;
//! * [`fit`] — standardisation, fitting, cross-fitting and calibration metrics;
//! * [`model`] — [`RiskModel`] and its `prefroute-risk/2` file (with the
//!   cross-fitted predictions that [`crate::guarantee`] calibrates a promise on);
//! * [`input`] — reading a dataset's tagged instances beside its judge columns;
//! * [`eval`] — measuring any router against random and the oracle
//!   (`captured`), the contract of `route_eval`.
//!
//! The model assumes the human label is the reference: a routed instance is
//! "right" by definition. The paper found cases where all-AI data trained a
//! better reward model than all-human data; that question is the PPM's, not
//! this model's.

pub mod eval;
pub mod features;
pub mod fit;
pub mod input;
pub mod logistic;
pub mod model;

pub use features::{FeatureSet, InputSignals, JudgeRow};
pub use fit::{calibration, cross_fit, fit_model, fit_platt, Calibration, Training};
pub use model::{CalibrationData, Platt, RiskModel, RISK_FORMAT, RISK_FORMAT_V1};
