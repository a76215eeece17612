//! One error type for the whole core. Each variant says whose fault it is
//! (the caller's argument, an input file, a model file, or prefroute itself)
//! and carries what a user needs to find and fix the problem.

use std::fmt;

/// Result alias used across the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in prefroute's core.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// An argument of the call is invalid (a budget, a parameter, an option).
    #[error("{message}{}", hint_suffix(.hint))]
    Argument { message: String, hint: String },

    /// An input file (or glob) cannot be used as a whole.
    #[error("file '{path}': {message}{}", hint_suffix(.hint))]
    File { path: String, message: String, hint: String },

    /// A column of an input file is missing or of the wrong type.
    #[error("file '{path}', column '{column}': {message}{}", hint_suffix(.hint))]
    Column { path: String, column: String, message: String, hint: String },

    /// One value of one row cannot be used.
    #[error("file '{path}', column '{column}', row id '{id}': {message} (value: {value}){}", hint_suffix(.hint))]
    Value { path: String, column: String, id: String, value: String, message: String, hint: String },

    /// A PPM model file or embedded model is invalid.
    #[error("model '{model}': {message}{}", hint_suffix(.hint))]
    Model { model: String, message: String, hint: String },

    /// A condition prefroute should never reach: a bug, reported as such.
    #[error("internal error (a bug in prefroute, please report it): {0}")]
    Internal(String),
}

fn hint_suffix(hint: &str) -> HintSuffix<'_> {
    HintSuffix(hint)
}

struct HintSuffix<'a>(&'a str);

impl fmt::Display for HintSuffix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            write!(f, ". Hint: {}", self.0)
        }
    }
}

impl Error {
    /// An invalid argument, with a hint on how to fix it.
    pub fn argument(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Argument { message: message.into(), hint: hint.into() }
    }

    /// A problem with a whole file.
    pub fn file(path: impl Into<String>, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::File { path: path.into(), message: message.into(), hint: hint.into() }
    }

    /// A problem with one column of a file.
    pub fn column(
        path: impl Into<String>,
        column: impl Into<String>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Error::Column { path: path.into(), column: column.into(), message: message.into(), hint: hint.into() }
    }

    /// A problem with a model file or embedded model.
    pub fn model(model: impl Into<String>, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Model { model: model.into(), message: message.into(), hint: hint.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_file_column_row_and_value() {
        let e = Error::Value {
            path: "x.parquet".into(),
            column: "human_pref".into(),
            id: "r7".into(),
            value: "'maybe'".into(),
            message: "unknown preference label".into(),
            hint: "use 'A', 'B' or 'tie'".into(),
        };
        assert_eq!(
            e.to_string(),
            "file 'x.parquet', column 'human_pref', row id 'r7': unknown preference label (value: 'maybe'). \
             Hint: use 'A', 'B' or 'tie'"
        );
        assert_eq!(Error::argument("bad", "").to_string(), "bad");
    }
}
