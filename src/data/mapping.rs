//! Which input column holds which field: named overrides first, then the
//! common layouts (prefroute's own, MultiPref, the paper's feature files).

use crate::error::{Error, Result};
use arrow::datatypes::Schema;

/// The fields of a pairwise preference instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Id,
    Prompt,
    CompletionA,
    CompletionB,
    HumanPref,
    AiPref,
}

impl Field {
    /// All fields, in output order.
    pub const ALL: [Field; 6] =
        [Field::Id, Field::Prompt, Field::CompletionA, Field::CompletionB, Field::HumanPref, Field::AiPref];

    /// The field's name, which is also the named parameter that maps it.
    pub fn name(self) -> &'static str {
        match self {
            Field::Id => "id",
            Field::Prompt => "prompt",
            Field::CompletionA => "completion_a",
            Field::CompletionB => "completion_b",
            Field::HumanPref => "human_pref",
            Field::AiPref => "ai_pref",
        }
    }

    /// Column names tried, in order, when the field is not mapped explicitly.
    fn candidates(self) -> &'static [&'static str] {
        match self {
            Field::Id => &["id", "comparison_id", "prompt_hash"],
            Field::Prompt => &["prompt", "text"],
            Field::CompletionA => &["completion_a", "response_a"],
            Field::CompletionB => &["completion_b", "response_b"],
            Field::HumanPref => &["human_pref", "pref_human", "overall_pref"],
            Field::AiPref => &["ai_pref", "pref_gpt4", "pref_ai"],
        }
    }

    /// Must the input have this field? (Without an id the row number is the id;
    /// a missing label column means no label of that source.)
    fn required(self) -> bool {
        matches!(self, Field::Prompt | Field::CompletionA | Field::CompletionB)
    }
}

/// Column names chosen by the caller (`prompt := 'question'`, …); `None` = detect.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ColumnOverrides {
    pub id: Option<String>,
    pub prompt: Option<String>,
    pub completion_a: Option<String>,
    pub completion_b: Option<String>,
    pub human_pref: Option<String>,
    pub ai_pref: Option<String>,
}

impl ColumnOverrides {
    fn get(&self, f: Field) -> Option<&str> {
        match f {
            Field::Id => self.id.as_deref(),
            Field::Prompt => self.prompt.as_deref(),
            Field::CompletionA => self.completion_a.as_deref(),
            Field::CompletionB => self.completion_b.as_deref(),
            Field::HumanPref => self.human_pref.as_deref(),
            Field::AiPref => self.ai_pref.as_deref(),
        }
    }

    /// Sets the override of field `f`.
    pub fn set(&mut self, f: Field, column: String) {
        let slot = match f {
            Field::Id => &mut self.id,
            Field::Prompt => &mut self.prompt,
            Field::CompletionA => &mut self.completion_a,
            Field::CompletionB => &mut self.completion_b,
            Field::HumanPref => &mut self.human_pref,
            Field::AiPref => &mut self.ai_pref,
        };
        *slot = Some(column);
    }
}

/// The resolved mapping: field → column name of the input (None = absent).
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnMapping {
    columns: [Option<String>; 6],
    /// Which known layout the columns matched, for messages and docs.
    pub layout: &'static str,
}

impl ColumnMapping {
    /// The input column of `f`, if the input has one.
    pub fn column(&self, f: Field) -> Option<&str> {
        self.columns[Field::ALL.iter().position(|x| *x == f).unwrap_or(0)].as_deref()
    }

    /// Resolves the mapping against a file's schema. `path` is for messages.
    pub fn resolve(schema: &Schema, overrides: &ColumnOverrides, path: &str) -> Result<ColumnMapping> {
        let has = |name: &str| schema.fields().iter().any(|f| f.name() == name);
        let available =
            || schema.fields().iter().map(|f| format!("'{}'", f.name())).collect::<Vec<_>>().join(", ");
        let mut columns: [Option<String>; 6] = Default::default();
        for (slot, field) in columns.iter_mut().zip(Field::ALL) {
            if let Some(name) = overrides.get(field) {
                if !has(name) {
                    return Err(Error::column(
                        path,
                        name,
                        format!("column not found (named by {} := '{name}')", field.name()),
                        format!("the file's columns are {}", available()),
                    ));
                }
                *slot = Some(name.to_string());
            } else if let Some(found) = field.candidates().iter().find(|c| has(c)) {
                *slot = Some((*found).to_string());
            } else if field.required() {
                let tried = field.candidates().join("', '");
                return Err(Error::column(
                    path,
                    field.candidates()[0],
                    format!("no {} column (looked for '{tried}')", field.name()),
                    format!(
                        "name it with {} := '<column>'; the file's columns are {}",
                        field.name(),
                        available()
                    ),
                ));
            }
        }
        let is = |f: Field, name: &str| {
            columns[Field::ALL.iter().position(|x| *x == f).unwrap()].as_deref() == Some(name)
        };
        let layout = if is(Field::CompletionA, "response_a") && is(Field::Prompt, "text") {
            "paper-features"
        } else if is(Field::Id, "comparison_id") && is(Field::Prompt, "text") {
            "multipref"
        } else if is(Field::Prompt, "prompt") && is(Field::CompletionA, "completion_a") {
            "prefroute"
        } else {
            "custom"
        };
        Ok(ColumnMapping { columns, layout })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{DataType, Field as AField};

    fn schema(names: &[&str]) -> Schema {
        Schema::new(names.iter().map(|n| AField::new(*n, DataType::Utf8, true)).collect::<Vec<_>>())
    }

    #[test]
    fn detects_the_three_layouts() {
        let o = ColumnOverrides::default();
        let m = ColumnMapping::resolve(
            &schema(&["id", "prompt", "completion_a", "completion_b", "human_pref", "ai_pref"]),
            &o,
            "f",
        )
        .unwrap();
        assert_eq!(m.layout, "prefroute");
        let m = ColumnMapping::resolve(
            &schema(&["comparison_id", "text", "completion_a", "completion_b"]),
            &o,
            "f",
        )
        .unwrap();
        assert_eq!(
            (m.layout, m.column(Field::Id), m.column(Field::HumanPref)),
            ("multipref", Some("comparison_id"), None)
        );
        let m = ColumnMapping::resolve(
            &schema(&["id", "text", "response_a", "response_b", "pref_human", "pref_gpt4"]),
            &o,
            "f",
        )
        .unwrap();
        assert_eq!((m.layout, m.column(Field::AiPref)), ("paper-features", Some("pref_gpt4")));
    }

    #[test]
    fn overrides_win_and_missing_columns_are_named() {
        let mut o = ColumnOverrides::default();
        o.set(Field::Prompt, "question".into());
        let s = schema(&["question", "prompt", "completion_a", "completion_b"]);
        assert_eq!(ColumnMapping::resolve(&s, &o, "f").unwrap().column(Field::Prompt), Some("question"));
        o.set(Field::AiPref, "judge".into());
        let e = ColumnMapping::resolve(&s, &o, "f.parquet").unwrap_err().to_string();
        assert!(
            e.contains("column 'judge'") && e.contains("ai_pref := 'judge'") && e.contains("'question'"),
            "{e}"
        );
        let e =
            ColumnMapping::resolve(&schema(&["prompt", "a", "b"]), &ColumnOverrides::default(), "f.parquet")
                .unwrap_err()
                .to_string();
        assert!(e.contains("no completion_a column") && e.contains("completion_a := '<column>'"), "{e}");
    }
}
