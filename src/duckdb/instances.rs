//! `pref_instances(path, …)`: the dataset as prefroute reads it, scanned in
//! parallel over its row groups (see [`super::raw_scan`] for the threading and
//! the row order).

use super::args::{Args, ParamType, MAPPING_PARAMS};
use super::declare;
use super::fail;
use super::files::QueryFiles;
use super::output::{Block, ColType, Column};
use super::raw_scan::ParallelScan;
use crate::data::{Dataset, Label, Unit, UnitReader, DEFAULT_BATCH_ROWS};
use duckdb::vtab::BindInfo;

const NAME: &str = "pref_instances";
const COLUMNS: [(&str, ColType); 6] = [
    ("id", ColType::Varchar),
    ("prompt", ColType::Varchar),
    ("completion_a", ColType::Varchar),
    ("completion_b", ColType::Varchar),
    ("human_pref", ColType::Varchar),
    ("ai_pref", ColType::Varchar),
];

/// The bind data: the opened dataset, its units (row groups), DuckDB's thread
/// setting, and the file system the dataset reads through (held for the query).
pub struct PrefInstances {
    dataset: Dataset,
    units: Vec<Unit>,
    threads: usize,
    _files: QueryFiles,
}

impl ParallelScan for PrefInstances {
    type Reader = UnitReader;
    const NAME: &'static str = NAME;

    fn parameters() -> Vec<ParamType> {
        vec![ParamType::Varchar]
    }

    fn named_parameters() -> Vec<(&'static str, ParamType)> {
        MAPPING_PARAMS.to_vec()
    }

    fn bind(bind: &BindInfo) -> Result<Self, String> {
        let args = Args::new(NAME, bind);
        let path = args.positional_text(0, "the path")?;
        let files = args.files()?;
        let dataset =
            Dataset::open_with(files.opener(), &path, &args.overrides()?, &[]).map_err(|e| fail(NAME, e))?;
        declare(bind, &COLUMNS);
        bind.set_cardinality(dataset.num_rows(), true);
        let units = dataset.units();
        Ok(PrefInstances { dataset, units, threads: args.threads(), _files: files })
    }

    fn units(&self) -> usize {
        self.units.len()
    }

    fn max_threads(&self) -> usize {
        self.threads
    }

    fn open(&self, unit: usize) -> Result<UnitReader, String> {
        let unit = self.units.get(unit).ok_or_else(|| format!("{NAME}: internal error: no unit {unit}"))?;
        self.dataset.read_unit(unit, DEFAULT_BATCH_ROWS).map_err(|e| fail(NAME, e))
    }

    fn next_block(&self, reader: &mut UnitReader) -> Result<Option<Block>, String> {
        let Some(batch) = reader.next() else { return Ok(None) };
        let b = batch.map_err(|e| fail(NAME, e))?;
        let label = |v: Vec<Option<Label>>| {
            Column::Text(v.into_iter().map(|l| l.map(|l| l.as_str().to_string())).collect())
        };
        Ok(Some(Block {
            columns: vec![
                Column::Text(b.ids.into_iter().map(Some).collect()),
                Column::Text(b.prompt),
                Column::Text(b.completion_a),
                Column::Text(b.completion_b),
                label(b.human_pref),
                label(b.ai_pref),
            ],
        }))
    }
}
