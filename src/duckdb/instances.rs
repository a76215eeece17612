//! `pref_instances(path, …)`: the dataset as prefroute reads it.

use super::args::{named, Args, MAPPING_PARAMS};
use super::output::{emit, Block, BlockSource, ColType, Column, Emitter};
use super::{declare, fail};
use crate::data::{Dataset, Unit, UnitReader, DEFAULT_BATCH_ROWS};
use duckdb::core::{DataChunkHandle, LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::{BindInfo, InitInfo, TableFunctionInfo, VTab};
use std::sync::Mutex;

const NAME: &str = "pref_instances";
const COLUMNS: [(&str, ColType); 6] = [
    ("id", ColType::Varchar),
    ("prompt", ColType::Varchar),
    ("completion_a", ColType::Varchar),
    ("completion_b", ColType::Varchar),
    ("human_pref", ColType::Varchar),
    ("ai_pref", ColType::Varchar),
];

pub struct PrefInstances;

pub struct Bind {
    dataset: Dataset,
}

impl VTab for PrefInstances {
    type BindData = Bind;
    type InitData = Mutex<Emitter>;

    fn bind(bind: &BindInfo) -> Result<Bind, Box<dyn std::error::Error>> {
        let args = Args::new(NAME, bind);
        let path = args.positional_text(0, "the path")?;
        let dataset = Dataset::open(&path, &args.overrides()?, &[]).map_err(|e| fail(NAME, e))?;
        declare(bind, &COLUMNS);
        bind.set_cardinality(dataset.num_rows(), true);
        Ok(Bind { dataset })
    }

    fn init(init: &InitInfo) -> Result<Mutex<Emitter>, Box<dyn std::error::Error>> {
        // SAFETY: DuckDB passes the bind data this function's bind stored; it outlives init.
        let bind = unsafe { &*init.get_bind_data::<Bind>() };
        init.set_max_threads(1);
        let units = bind.dataset.units();
        Ok(Mutex::new(Emitter::new(Box::new(Source {
            dataset: bind.dataset.clone(),
            units,
            next: 0,
            reader: None,
        }))))
    }

    fn func(
        func: &TableFunctionInfo<Self>,
        output: &mut DataChunkHandle,
    ) -> Result<(), Box<dyn std::error::Error>> {
        emit(NAME, func.get_init_data(), output)
    }

    fn parameters() -> Option<Vec<LogicalTypeHandle>> {
        Some(vec![LogicalTypeId::Varchar.into()])
    }

    fn named_parameters() -> Option<Vec<(String, LogicalTypeHandle)>> {
        named(&MAPPING_PARAMS)
    }
}

/// Streams the dataset unit by unit, batch by batch, in row order.
struct Source {
    dataset: Dataset,
    units: Vec<Unit>,
    next: usize,
    reader: Option<UnitReader>,
}

impl BlockSource for Source {
    fn next_block(&mut self) -> Result<Option<Block>, String> {
        loop {
            if let Some(reader) = &mut self.reader {
                if let Some(batch) = reader.next() {
                    let b = batch.map_err(|e| fail(NAME, e))?;
                    let label = |v: Vec<Option<crate::data::Label>>| {
                        Column::Text(v.into_iter().map(|l| l.map(|l| l.as_str().to_string())).collect())
                    };
                    return Ok(Some(Block {
                        columns: vec![
                            Column::Text(b.ids.into_iter().map(Some).collect()),
                            Column::Text(b.prompt),
                            Column::Text(b.completion_a),
                            Column::Text(b.completion_b),
                            label(b.human_pref),
                            label(b.ai_pref),
                        ],
                    }));
                }
            }
            if self.next >= self.units.len() {
                return Ok(None);
            }
            let unit = &self.units[self.next];
            self.next += 1;
            self.reader = Some(self.dataset.read_unit(unit, DEFAULT_BATCH_ROWS).map_err(|e| fail(NAME, e))?);
        }
    }
}
