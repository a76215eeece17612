//! Reading the Parquet files of the parity tests (bundled data and oracle values).

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::Float64Type;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::fs::File;
use std::path::Path;

/// Every record batch of `path`.
pub fn read(path: &Path) -> Vec<RecordBatch> {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    reader.map(|b| b.unwrap()).collect()
}

/// A text column of any string type; NULL reads as "".
pub fn strings(batch: &RecordBatch, col: &str) -> Vec<String> {
    let a = batch.column_by_name(col).unwrap_or_else(|| panic!("no column {col}"));
    let a = arrow::compute::cast(a, &arrow::datatypes::DataType::Utf8).unwrap();
    let a = a.as_string::<i32>();
    (0..a.len()).map(|i| if a.is_null(i) { String::new() } else { a.value(i).to_owned() }).collect()
}

/// A DOUBLE column; NULL reads as NaN.
pub fn floats(batch: &RecordBatch, col: &str) -> Vec<f64> {
    let a = batch.column_by_name(col).unwrap_or_else(|| panic!("no column {col}"));
    a.as_primitive::<Float64Type>().iter().map(|v| v.unwrap_or(f64::NAN)).collect()
}
