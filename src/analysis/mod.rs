//! Read-only reports over a dataset: where the AI judge agrees with humans.
