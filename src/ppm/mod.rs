//! The performance prediction model (PPM): from the per-tag counts of the
//! human-routed instances to the predicted score of the hybrid dataset.
//!
//! * [`Model`] — a linear or quadratic function of the counts (`model.rs`);
//!   read and written as a `prefroute-ppm/1` JSON file ([`Model::load`],
//!   [`Model::save_atomic`], [`resolve_model`] with a reload-on-change cache).
//! * [`fit`] — fits a model to candidate datasets (ridge, or the minimum-norm
//!   least-squares solution scikit-learn's `LinearRegression` returns), with a
//!   seeded held-out split, k-fold cross-validation and [`Metrics`].
//! * [`tag_gains`] — the paper's per-tag gain analysis (Table 12).

mod file;
mod fit;
mod gains;
mod metrics;
mod model;
mod solve;
mod training_file;

pub use file::{resolve_model, FORMAT, PAPER_PRIOR};
pub use fit::{cross_val_predict, fit, fit_model, FitOptions, FitReport, TrainingSet};
pub use gains::{tag_gains, TagGain};
pub use metrics::{spearman, Metrics};
pub use model::{DenseModel, Form, Model};
pub use solve::{n_terms, RCOND};
pub use training_file::read_training_set;
