//! Reading PPM training data: one row per candidate dataset, with its per-tag
//! counts (one column per canonical tag name, or a `counts` list in tags.txt
//! order) and the observed score.

use super::TrainingSet;
use crate::data::FileOpener;
use crate::error::{Error, Result};
use crate::tags::{tag_index, N_TAGS};
use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type};

/// Reads every file of `pattern` (a path, a URL or a local glob) through
/// `opener`. `target` names the score column.
pub fn read_training_set(opener: &dyn FileOpener, pattern: &str, target: &str) -> Result<TrainingSet> {
    let mut set = TrainingSet::default();
    for path in crate::data::expand(pattern)? {
        let shown = path.clone();
        let reader = crate::data::open_builder(opener, &path)?.build().map_err(|e| {
            Error::file(&shown, format!("cannot read: {e}"), "check the file with another Parquet reader")
        })?;
        for batch in reader {
            let batch = batch.map_err(|e| {
                Error::file(&shown, format!("cannot decode (truncated?): {e}"), "rewrite the file")
            })?;
            read_batch(&batch, &shown, target, &mut set)?;
        }
    }
    if set.target.is_empty() {
        return Err(Error::file(pattern, "has no rows", "a PPM needs candidate datasets with scores"));
    }
    Ok(set)
}

fn floats(a: &ArrayRef, path: &str, column: &str) -> Result<Vec<Option<f64>>> {
    let f = arrow::compute::cast(a, &DataType::Float64).map_err(|e| {
        Error::column(
            path,
            column,
            format!("is {}, not numeric: {e}", a.data_type()),
            "counts and scores must be numbers",
        )
    })?;
    Ok(f.as_primitive::<Float64Type>().iter().collect())
}

fn read_batch(batch: &RecordBatch, path: &str, target: &str, set: &mut TrainingSet) -> Result<()> {
    let schema = batch.schema();
    let names = || schema.fields().iter().map(|f| format!("'{}'", f.name())).collect::<Vec<_>>().join(", ");
    let first_row = set.target.len();
    let row_err = |i: usize, column: &str, value: String, message: &str, hint: &str| Error::Value {
        path: path.to_string(),
        column: column.to_string(),
        id: format!("row {}", first_row + i),
        value,
        message: message.to_string(),
        hint: hint.to_string(),
    };
    let target_col = batch.column_by_name(target).ok_or_else(|| {
        Error::column(
            path,
            target,
            "no such target column",
            format!("name the score column with target := '<column>'; the columns are {}", names()),
        )
    })?;
    let y = floats(target_col, path, target)?;
    let n = batch.num_rows();
    let mut counts = vec![[0.0; N_TAGS]; n];
    if let Some(list) = batch.column_by_name("counts") {
        let list = arrow::compute::cast(list, &DataType::new_list(DataType::Float64, true)).map_err(|e| {
            Error::column(
                path,
                "counts",
                format!("is {}, not a list of numbers: {e}", list.data_type()),
                "give 90 numbers per row, in tags.txt order",
            )
        })?;
        let list = list.as_list::<i32>();
        for (i, row) in counts.iter_mut().enumerate() {
            if list.is_null(i) {
                return Err(row_err(
                    i,
                    "counts",
                    "NULL".into(),
                    "the counts are NULL",
                    "give every candidate its 90 counts",
                ));
            }
            let values = list.value(i);
            let values = values.as_primitive::<Float64Type>();
            if values.len() != N_TAGS {
                return Err(row_err(
                    i,
                    "counts",
                    format!("a list of {}", values.len()),
                    "counts must list one number per tag",
                    "give 90 counts in tags.txt order (see simulate_candidates)",
                ));
            }
            for (t, v) in values.iter().enumerate() {
                row[t] = v.ok_or_else(|| {
                    row_err(
                        i,
                        "counts",
                        "NULL".into(),
                        "a count is NULL",
                        "use 0 for a tag no routed instance carries",
                    )
                })?;
            }
        }
    } else {
        let mut found = 0;
        for field in schema.fields() {
            let Some(t) = tag_index(field.name()) else { continue };
            found += 1;
            for (i, v) in
                floats(batch.column_by_name(field.name()).unwrap_or(target_col), path, field.name())?
                    .into_iter()
                    .enumerate()
            {
                counts[i][t] = v.ok_or_else(|| {
                    row_err(
                        i,
                        field.name(),
                        "NULL".into(),
                        "a count is NULL",
                        "use 0 for a tag no routed instance carries",
                    )
                })?;
            }
        }
        if found == 0 {
            return Err(Error::file(
                path,
                "has neither a `counts` list column nor any column named after a canonical tag",
                format!("see tags.txt for the names; the columns are {}", names()),
            ));
        }
    }
    for (i, row) in counts.iter().enumerate() {
        if let Some(t) = row.iter().position(|c| !c.is_finite() || *c < 0.0) {
            return Err(row_err(
                i,
                crate::tags::TAG_NAMES[t],
                row[t].to_string(),
                "counts must be finite and not negative",
                "a count is a number of routed instances: 0 or more",
            ));
        }
        let yi = y[i].ok_or_else(|| {
            row_err(
                i,
                target,
                "NULL".into(),
                "the score is NULL",
                "drop candidates whose reward model was not evaluated",
            )
        })?;
        if !yi.is_finite() {
            return Err(row_err(
                i,
                target,
                yi.to_string(),
                "the score is not finite",
                "drop or fix the candidate's score",
            ));
        }
        set.target.push(yi);
    }
    set.counts.extend(counts);
    Ok(())
}
