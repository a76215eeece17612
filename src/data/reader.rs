//! The Parquet reader behind [`Dataset`].

use super::label::{Label, LABEL_HINT};
use super::mapping::{ColumnMapping, ColumnOverrides, Field};
use super::source::{ChunkSource, FileOpener, StdFiles};
use crate::error::{Error, Result};
use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type, Int64Type, SchemaRef};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;
use parquet::errors::ParquetError;
use std::sync::Arc;

/// Rows per record batch when streaming a unit.
pub const DEFAULT_BATCH_ROWS: usize = 2048;

/// How an extra (non-core) column should be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtraKind {
    /// Any numeric column, as f64.
    Float,
    /// Any column, rendered as text (strings as they are, numbers formatted).
    Text,
    /// A list of strings; a single string becomes a one-element list.
    TextList,
    /// A preference label column (strings or −1/0/1 integers).
    Label,
}

/// An extra column a function wants besides the six core fields.
#[derive(Clone, Debug, PartialEq)]
pub struct ExtraRequest {
    pub column: String,
    pub kind: ExtraKind,
}

/// The values of one extra column in one batch.
#[derive(Clone, Debug, PartialEq)]
pub enum ExtraColumn {
    Float(Vec<Option<f64>>),
    Text(Vec<Option<String>>),
    TextList(Vec<Option<Vec<String>>>),
    Label(Vec<Option<Label>>),
}

/// A batch of instances, in dataset order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InstanceBatch {
    /// Row number (0-based, across all files) of the first row.
    pub first_row: u64,
    pub ids: Vec<String>,
    pub prompt: Vec<Option<String>>,
    pub completion_a: Vec<Option<String>>,
    pub completion_b: Vec<Option<String>>,
    pub human_pref: Vec<Option<Label>>,
    pub ai_pref: Vec<Option<Label>>,
    /// One entry per [`ExtraRequest`], in request order.
    pub extras: Vec<ExtraColumn>,
}

impl InstanceBatch {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// One independently readable piece of a dataset: a row group of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unit {
    pub file: usize,
    pub row_group: usize,
    /// Global row number of the unit's first row.
    pub first_row: u64,
    pub rows: usize,
}

#[derive(Clone, Debug)]
struct FileInfo {
    path: String,
    schema: SchemaRef,
    row_group_rows: Vec<usize>,
}

/// An opened dataset: its files, their row groups, and the column mapping.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// The path or glob the user gave.
    pub pattern: String,
    files: Vec<FileInfo>,
    /// Which column holds which field.
    pub mapping: ColumnMapping,
    extras: Vec<ExtraRequest>,
    /// Opens the files, at open time and again for each unit read.
    opener: Arc<dyn FileOpener>,
}

impl Dataset {
    /// Opens `pattern` with `std::fs`; see [`Dataset::open_with`].
    pub fn open(pattern: &str, overrides: &ColumnOverrides, extras: &[ExtraRequest]) -> Result<Dataset> {
        Dataset::open_with(StdFiles::shared(), pattern, overrides, extras)
    }

    /// Opens `pattern` (a path, a URL, or a local glob with `*`, `?` or `[`)
    /// through `opener`, reads every file's footer, and resolves the column
    /// mapping. Every file must have the mapped columns with usable types.
    pub fn open_with(
        opener: Arc<dyn FileOpener>,
        pattern: &str,
        overrides: &ColumnOverrides,
        extras: &[ExtraRequest],
    ) -> Result<Dataset> {
        let paths = expand(pattern)?;
        let mut files = Vec::with_capacity(paths.len());
        let mut mapping: Option<ColumnMapping> = None;
        for path in paths {
            let shown = path.clone();
            let (_, metadata) = open_metadata(opener.as_ref(), &path)?;
            let schema = metadata.schema().clone();
            let m = ColumnMapping::resolve(&schema, overrides, &shown)?;
            match &mapping {
                None => mapping = Some(m.clone()),
                Some(first) if *first != m => {
                    return Err(Error::file(
                        shown,
                        "its columns map differently from the first file of the glob",
                        "give every file of a glob the same column names, or map the columns explicitly",
                    ))
                }
                Some(_) => {}
            }
            check_types(&schema, &m, extras, &shown)?;
            let row_group_rows =
                metadata.metadata().row_groups().iter().map(|rg| rg.num_rows().max(0) as usize).collect();
            files.push(FileInfo { path, schema, row_group_rows });
        }
        let mapping = mapping.ok_or_else(|| Error::Internal("glob expanded to no file".into()))?;
        Ok(Dataset { pattern: pattern.to_string(), files, mapping, extras: extras.to_vec(), opener })
    }

    /// The opener this dataset reads through (for other files of the same call,
    /// such as a labels file).
    pub fn opener(&self) -> &Arc<dyn FileOpener> {
        &self.opener
    }

    /// Also reads `request` (appended after the extras already requested).
    pub fn add_extra(&mut self, request: ExtraRequest) -> Result<()> {
        for f in &self.files {
            check_types(&f.schema, &self.mapping, std::slice::from_ref(&request), &f.path)?;
        }
        self.extras.push(request);
        Ok(())
    }

    /// Index of the last extra column in each batch's `extras`.
    pub fn last_extra(&self) -> Option<usize> {
        self.extras.len().checked_sub(1)
    }

    /// Names of the columns of the (first) input file.
    pub fn column_names(&self) -> Vec<String> {
        self.files[0].schema.fields().iter().map(|f| f.name().clone()).collect()
    }

    /// Does the input have a column with this exact name?
    pub fn has_column(&self, name: &str) -> bool {
        self.files[0].schema.fields().iter().any(|f| f.name() == name)
    }

    /// Data type of a column of the input, if it exists.
    pub fn column_type(&self, name: &str) -> Option<DataType> {
        self.files[0].schema.fields().iter().find(|f| f.name() == name).map(|f| f.data_type().clone())
    }

    /// Total number of rows (from the footers; no data is read).
    pub fn num_rows(&self) -> u64 {
        self.files.iter().flat_map(|f| f.row_group_rows.iter()).map(|r| *r as u64).sum()
    }

    /// The files, in row order.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.iter().map(|f| f.path.as_str())
    }

    /// All units in row order. Empty row groups are skipped.
    pub fn units(&self) -> Vec<Unit> {
        let mut units = Vec::new();
        let mut first_row = 0u64;
        for (file, info) in self.files.iter().enumerate() {
            for (row_group, rows) in info.row_group_rows.iter().enumerate() {
                if *rows > 0 {
                    units.push(Unit { file, row_group, first_row, rows: *rows });
                }
                first_row += *rows as u64;
            }
        }
        units
    }

    /// Streams one unit in batches of at most `batch_rows` rows.
    pub fn read_unit(&self, unit: &Unit, batch_rows: usize) -> Result<UnitReader> {
        let info = &self.files[unit.file];
        let shown = info.path.clone();
        // The footer is read again: a file rewritten since the dataset was
        // opened is then read as it is now, and the tagging pipeline's row
        // fingerprints tell that it changed.
        let builder = open_builder(self.opener.as_ref(), &info.path)?;
        let mut wanted: Vec<&str> = Field::ALL.iter().filter_map(|f| self.mapping.column(*f)).collect();
        wanted.extend(self.extras.iter().map(|e| e.column.as_str()));
        let roots: Vec<usize> = info
            .schema
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| wanted.contains(&f.name().as_str()))
            .map(|(i, _)| i)
            .collect();
        let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
        let reader = builder
            .with_row_groups(vec![unit.row_group])
            .with_projection(mask)
            .with_batch_size(batch_rows.max(1))
            .build()
            .map_err(|e| {
                Error::file(
                    &shown,
                    format!("cannot read row group {}: {e}", unit.row_group),
                    "check the file with another Parquet reader, or rewrite it",
                )
            })?;
        Ok(UnitReader {
            mapping: self.mapping.clone(),
            extras: self.extras.clone(),
            path: shown,
            reader,
            next_row: unit.first_row,
        })
    }
}

/// Iterator over the batches of one unit.
pub struct UnitReader {
    mapping: ColumnMapping,
    extras: Vec<ExtraRequest>,
    path: String,
    reader: ParquetRecordBatchReader,
    next_row: u64,
}

impl Iterator for UnitReader {
    type Item = Result<InstanceBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        let batch = match self.reader.next()? {
            Ok(b) => b,
            Err(e) => {
                return Some(Err(Error::file(
                    &self.path,
                    format!("cannot decode data (truncated or corrupt file?): {e}"),
                    "check the file with another Parquet reader, or rewrite it",
                )))
            }
        };
        let first_row = self.next_row;
        self.next_row += batch.num_rows() as u64;
        Some(convert(&self.mapping, &self.extras, &self.path, first_row, &batch))
    }
}

/// The characters that make a local path a glob.
const GLOB_CHARS: [char; 3] = ['*', '?', '['];

/// The scheme of a URL such as `s3://bucket/x.parquet` (`s3`), if `pattern` is one.
fn url_scheme(pattern: &str) -> Option<&str> {
    let (scheme, _) = pattern.split_once("://")?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic() && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)))
        .then_some(scheme)
}

/// The files of `pattern`, in row order. A local glob is expanded here
/// (sorted); a URL is one file, for the opener to open; a local path is one
/// file too, checked only for being a directory (the opener reports the rest,
/// so that a path the host resolves differently from `std::fs` still works).
pub(crate) fn expand(pattern: &str) -> Result<Vec<String>> {
    if pattern.is_empty() {
        return Err(Error::argument(
            "the path is empty",
            "give a Parquet file path or a glob such as 'data/*.parquet'",
        ));
    }
    if let Some(scheme) = url_scheme(pattern) {
        if pattern.contains(GLOB_CHARS) {
            return Err(Error::file(
                pattern,
                format!(
                    "globs work on local paths only: DuckDB gives extensions no way to list '{scheme}://' files"
                ),
                "give one file per call, or read the files with DuckDB's read_parquet('<glob>') and pass the \
                 columns to the functions that take columns",
            ));
        }
        return Ok(vec![pattern.to_string()]);
    }
    if pattern.contains(GLOB_CHARS) {
        let entries = glob::glob(pattern).map_err(|e| {
            Error::file(
                pattern,
                format!("invalid glob pattern: {e}"),
                "escape '[' as '[[]' or fix the pattern",
            )
        })?;
        let mut paths: Vec<_> = entries.filter_map(|p| p.ok()).filter(|p| p.is_file()).collect();
        paths.sort();
        if paths.is_empty() {
            return Err(Error::file(
                pattern,
                "no file matches this glob",
                "check the directory and the pattern",
            ));
        }
        return paths
            .into_iter()
            .map(|p| {
                p.into_os_string().into_string().map_err(|p| {
                    Error::file(
                        p.to_string_lossy(),
                        "the file name is not valid UTF-8",
                        "rename the file, or give the other files one by one",
                    )
                })
            })
            .collect();
    }
    if std::fs::metadata(pattern).is_ok_and(|m| m.is_dir()) {
        return Err(Error::file(
            pattern,
            "is a directory",
            format!("to read every Parquet file in it, use '{}/*.parquet'", pattern.trim_end_matches('/')),
        ));
    }
    Ok(vec![pattern.to_string()])
}

/// Opens `path` through `opener`.
fn open_source(opener: &dyn FileOpener, path: &str) -> Result<ChunkSource> {
    let source = opener.open(path).map_err(|e| {
        let hint = match url_scheme(path) {
            None => "check the path; relative paths are relative to the directory DuckDB was started in",
            Some(_) => {
                "a remote file needs DuckDB's httpfs extension (INSTALL httpfs; LOAD httpfs;) and, when it is \
                 private, a secret (CREATE SECRET …)"
            }
        };
        Error::file(path, format!("cannot open: {e}"), hint)
    })?;
    Ok(ChunkSource::new(source))
}

/// A Parquet error's text, without the "External: " of errors that came from
/// the source (their own text says what happened).
fn parquet_text(e: &ParquetError) -> String {
    match e {
        ParquetError::External(inner) => inner.to_string(),
        e => e.to_string(),
    }
}

/// Opens `path` through `opener` and reads its footer.
fn open_metadata(opener: &dyn FileOpener, path: &str) -> Result<(ChunkSource, ArrowReaderMetadata)> {
    let source = open_source(opener, path)?;
    let metadata = ArrowReaderMetadata::load(&source, ArrowReaderOptions::default()).map_err(|e| {
        Error::file(
            path,
            format!("not a readable Parquet file (wrong format or truncated): {}", parquet_text(&e)),
            "prefroute reads Parquet; convert CSV or JSON with DuckDB's COPY ... TO 'x.parquet'",
        )
    })?;
    Ok((source, metadata))
}

/// Opens `path` through `opener` as a Parquet reader of every row group.
pub(crate) fn open_builder(
    opener: &dyn FileOpener,
    path: &str,
) -> Result<ParquetRecordBatchReaderBuilder<ChunkSource>> {
    let (source, metadata) = open_metadata(opener, path)?;
    Ok(ParquetRecordBatchReaderBuilder::new_with_metadata(source, metadata))
}

fn is_stringish(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => is_stringish(v),
        _ => false,
    }
}

fn is_integer(t: &DataType) -> bool {
    t.is_integer() || matches!(t, DataType::Dictionary(_, v) if v.is_integer())
}

fn is_list_of_strings(t: &DataType) -> bool {
    match t {
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::ListView(f)
        | DataType::FixedSizeList(f, _) => is_stringish(f.data_type()),
        _ => false,
    }
}

/// Checks that every mapped column has a type prefroute can read.
fn check_types(schema: &SchemaRef, m: &ColumnMapping, extras: &[ExtraRequest], path: &str) -> Result<()> {
    let type_of = |name: &str| schema.field_with_name(name).map(|f| f.data_type().clone()).ok();
    for field in Field::ALL {
        let Some(col) = m.column(field) else { continue };
        let t = type_of(col).ok_or_else(|| Error::Internal(format!("mapped column {col} vanished")))?;
        let ok = match field {
            Field::Id => is_stringish(&t) || is_integer(&t),
            Field::Prompt | Field::CompletionA | Field::CompletionB => is_stringish(&t),
            Field::HumanPref | Field::AiPref => is_stringish(&t) || is_integer(&t),
        };
        if !ok {
            let want = match field {
                Field::Id => "a string or integer column",
                Field::HumanPref | Field::AiPref => "a string or integer label column",
                _ => "a string column",
            };
            return Err(Error::column(
                path,
                col,
                format!("has type {t}, but {} must be {want}", field.name()),
                format!("map {} to another column with {} := '<column>'", field.name(), field.name()),
            ));
        }
    }
    for extra in extras {
        let Some(t) = type_of(&extra.column) else {
            return Err(Error::column(path, &extra.column, "column not found", "check the column name"));
        };
        let ok = match extra.kind {
            ExtraKind::Float => t.is_numeric(),
            ExtraKind::Text => true,
            ExtraKind::TextList => is_list_of_strings(&t) || is_stringish(&t),
            ExtraKind::Label => is_stringish(&t) || is_integer(&t),
        };
        if !ok {
            let want = match extra.kind {
                ExtraKind::Float => "numeric",
                ExtraKind::Text => "any type",
                ExtraKind::TextList => "a list of strings or a string",
                ExtraKind::Label => "a string or integer label",
            };
            return Err(Error::column(
                path,
                &extra.column,
                format!("has type {t}, expected {want}"),
                "pick another column, or convert it in SQL and write a new file",
            ));
        }
    }
    Ok(())
}

fn convert(
    mapping: &ColumnMapping,
    extras: &[ExtraRequest],
    path: &str,
    first_row: u64,
    batch: &RecordBatch,
) -> Result<InstanceBatch> {
    let n = batch.num_rows();
    let col = |f: Field| mapping.column(f).and_then(|name| batch.column_by_name(name));
    let ids: Vec<String> = match (mapping.column(Field::Id), col(Field::Id)) {
        (Some(name), Some(a)) => {
            let texts = to_text(a, path, name)?;
            let mut ids = Vec::with_capacity(n);
            for (i, t) in texts.into_iter().enumerate() {
                ids.push(t.ok_or_else(|| Error::Value {
                    path: path.to_string(),
                    column: name.to_string(),
                    id: format!("row {}", first_row + i as u64),
                    value: "NULL".into(),
                    message: "the id is NULL".into(),
                    hint: "fill or remove the rows with a NULL id, or map id to another column with id := '<column>'".into(),
                })?);
            }
            ids
        }
        _ => (0..n as u64).map(|i| (first_row + i).to_string()).collect(),
    };
    let text = |f: Field| -> Result<Vec<Option<String>>> {
        match (mapping.column(f), col(f)) {
            (Some(name), Some(a)) => to_text(a, path, name),
            _ => Ok(vec![None; n]),
        }
    };
    let label = |f: Field| -> Result<Vec<Option<Label>>> {
        match (mapping.column(f), col(f)) {
            (Some(name), Some(a)) => to_labels(a, path, name, &ids),
            _ => Ok(vec![None; n]),
        }
    };
    let mut extra_columns = Vec::with_capacity(extras.len());
    for req in extras {
        let a = batch
            .column_by_name(&req.column)
            .ok_or_else(|| Error::Internal(format!("extra column {} not read", req.column)))?;
        extra_columns.push(match req.kind {
            ExtraKind::Float => ExtraColumn::Float(to_floats(a, path, &req.column)?),
            ExtraKind::Text => ExtraColumn::Text(to_text(a, path, &req.column)?),
            ExtraKind::TextList => ExtraColumn::TextList(to_text_lists(a, path, &req.column)?),
            ExtraKind::Label => ExtraColumn::Label(to_labels(a, path, &req.column, &ids)?),
        });
    }
    Ok(InstanceBatch {
        first_row,
        prompt: text(Field::Prompt)?,
        completion_a: text(Field::CompletionA)?,
        completion_b: text(Field::CompletionB)?,
        human_pref: label(Field::HumanPref)?,
        ai_pref: label(Field::AiPref)?,
        ids,
        extras: extra_columns,
    })
}

fn cast(a: &ArrayRef, to: &DataType, path: &str, column: &str) -> Result<ArrayRef> {
    arrow::compute::cast(a, to).map_err(|e| {
        Error::column(
            path,
            column,
            format!("cannot convert {} to {to}: {e}", a.data_type()),
            "convert the column in SQL and write a new file",
        )
    })
}

fn to_text(a: &ArrayRef, path: &str, column: &str) -> Result<Vec<Option<String>>> {
    let s = cast(a, &DataType::Utf8, path, column)?;
    Ok(s.as_string::<i32>().iter().map(|v| v.map(str::to_string)).collect())
}

fn to_floats(a: &ArrayRef, path: &str, column: &str) -> Result<Vec<Option<f64>>> {
    let f = cast(a, &DataType::Float64, path, column)?;
    Ok(f.as_primitive::<Float64Type>().iter().collect())
}

fn to_text_lists(a: &ArrayRef, path: &str, column: &str) -> Result<Vec<Option<Vec<String>>>> {
    if is_stringish(a.data_type()) {
        return Ok(to_text(a, path, column)?.into_iter().map(|v| v.map(|s| vec![s])).collect());
    }
    let target =
        DataType::List(std::sync::Arc::new(arrow::datatypes::Field::new_list_field(DataType::Utf8, true)));
    let l = cast(a, &target, path, column)?;
    let list = l.as_list::<i32>();
    let mut out = Vec::with_capacity(list.len());
    for i in 0..list.len() {
        if list.is_null(i) {
            out.push(None);
            continue;
        }
        let values = list.value(i);
        let strings = values.as_string::<i32>();
        out.push(Some(strings.iter().flatten().map(str::to_string).collect()));
    }
    Ok(out)
}

fn to_labels(a: &ArrayRef, path: &str, column: &str, ids: &[String]) -> Result<Vec<Option<Label>>> {
    let bad = |i: usize, value: String| Error::Value {
        path: path.to_string(),
        column: column.to_string(),
        id: ids[i].clone(),
        value,
        message: "unknown preference label".into(),
        hint: LABEL_HINT.into(),
    };
    if is_integer(a.data_type()) {
        let ints = cast(a, &DataType::Int64, path, column)?;
        let ints = ints.as_primitive::<Int64Type>();
        return ints
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                None => Ok(None),
                Some(x) => Label::from_int(x).map(Some).ok_or_else(|| bad(i, x.to_string())),
            })
            .collect();
    }
    to_text(a, path, column)?
        .into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            None => Ok(None),
            Some(s) => Label::parse(&s).map(Some).ok_or_else(|| bad(i, format!("'{s}'"))),
        })
        .collect()
}

/// Reads the `id` and `human_pref` columns of a labels file (a Parquet path,
/// URL or local glob, any other columns ignored) through `opener`, in file
/// order. A NULL label is kept as `None`; a NULL id, a missing column or an
/// unknown label is an error.
pub fn read_labels_file(opener: &dyn FileOpener, pattern: &str) -> Result<Vec<(String, Option<Label>)>> {
    let mut out = Vec::new();
    for path in expand(pattern)? {
        let shown = path.clone();
        let builder = open_builder(opener, &path)?;
        let schema = builder.schema().clone();
        let names =
            || schema.fields().iter().map(|f| format!("'{}'", f.name())).collect::<Vec<_>>().join(", ");
        let mut roots = Vec::new();
        for (column, ok) in [("id", None), ("human_pref", Some(()))] {
            let Some((i, f)) = schema.fields().iter().enumerate().find(|(_, f)| f.name() == column) else {
                return Err(Error::column(
                    &shown,
                    column,
                    "column not found in the labels file",
                    format!(
                        "a labels file needs the columns 'id' and 'human_pref' (rename them in SQL); its columns are {}",
                        names()
                    ),
                ));
            };
            let t = f.data_type();
            if ok.is_some() && !(is_stringish(t) || is_integer(t)) {
                return Err(Error::column(
                    &shown,
                    column,
                    format!("has type {t}, expected a string or integer label"),
                    LABEL_HINT,
                ));
            }
            roots.push(i);
        }
        let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
        let reader =
            builder.with_projection(mask).with_batch_size(DEFAULT_BATCH_ROWS).build().map_err(|e| {
                Error::file(&shown, format!("cannot read: {e}"), "check the file with another Parquet reader")
            })?;
        let mut row = 0u64;
        for batch in reader {
            let batch = batch.map_err(|e| {
                Error::file(&shown, format!("cannot read: {e}"), "check the file with another Parquet reader")
            })?;
            let (Some(id_col), Some(label_col)) =
                (batch.column_by_name("id"), batch.column_by_name("human_pref"))
            else {
                return Err(Error::Internal("labels file columns not read".into()));
            };
            let mut ids = Vec::with_capacity(batch.num_rows());
            for (i, id) in to_text(id_col, &shown, "id")?.into_iter().enumerate() {
                ids.push(id.ok_or_else(|| Error::Value {
                    path: shown.clone(),
                    column: "id".into(),
                    id: format!("row {}", row + i as u64),
                    value: "NULL".into(),
                    message: "the id is NULL".into(),
                    hint: "remove the rows with a NULL id from the labels file".into(),
                })?);
            }
            let labels = to_labels(label_col, &shown, "human_pref", &ids)?;
            row += ids.len() as u64;
            out.extend(ids.into_iter().zip(labels));
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "reader_tests.rs"]
mod tests;
