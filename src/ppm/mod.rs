//! The performance prediction model (PPM): from the per-tag counts of the
//! human-routed instances to the predicted score of the hybrid dataset.

mod model;

pub use model::{DenseModel, Form, Model};
