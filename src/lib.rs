//! # prefroute
//!
//! Route pairwise preference instances (a prompt, two completions) to human or
//! AI annotators, following "Hybrid Preferences: Learning to Route Instances
//! for Human vs. AI Feedback" (Miranda et al., 2024), as a DuckDB extension.
//!
//! Data flows one way, and no stage knows DuckDB exists:
//!
//! ```text
//! Parquet ─► data::Dataset (batches) ─► tags (measures, descriptive fields) ─► tags::TagMatrix
//!                                                                                 │
//!                           ppm::Model (linear | quadratic) ◄── ppm::fit ─────────┤
//!                                                                                 ▼
//!                                route::{topk, simulated, optimize} ─► Routing ─► hybrid dataset
//!                                                          │                      ▲
//!                                      annotate: tasks ◄───┘   an export → labels ┘
//! ```
//!
//! Start reading at [`data::Dataset`], then [`tags::TagMatrix`]. The DuckDB
//! adapter (`src/duckdb/`) is the only module with `unsafe` code and FFI.

pub mod analysis;
pub mod annotate;
mod atomic_file;
pub mod data;
pub mod embed;
pub mod error;
pub mod guarantee;
mod linalg;
pub mod llm;
pub mod model_file;
pub mod parallel;
pub mod ppm;
pub mod progress;
pub mod risk;
pub mod route;
pub mod tags;

mod generated {
    include!(concat!(env!("OUT_DIR"), "/generated.rs"));
}

mod duckdb;

pub use error::{Error, Result};
