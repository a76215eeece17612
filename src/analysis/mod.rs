//! Read-only reports over a dataset: where the AI judge agrees with humans.
//!
//! [`judge_agreement`] turns per-instance labels ([`PairLabels`]) and a
//! slicing (by tag, by a column's value, or the whole set) into one
//! [`SliceStats`] row per slice. The statistics it needs live in [`stats`].

mod agreement;
pub mod stats;

pub use agreement::{
    agreement_stats, judge_agreement, overall_agreement, slices_all, slices_by_tag, slices_by_value,
    PairLabels, SliceStats, DEFAULT_MIN_N,
};
