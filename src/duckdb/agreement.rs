//! `judge_agreement(path, by := 'tag' | 'none' | '<column>', …)`: where the AI
//! judge agrees with humans, slice by slice.

use super::args::{named, Args, ParamType, MAPPING_PARAMS};
use super::files::QueryFiles;
use super::output::{deferred, emit, Block, ColType, Column, Emitter};
use super::tagging::{open_for_tagging, tag_options, TAG_PARAMS};
use super::{declare, fail};
use crate::analysis::{
    judge_agreement, slices_all, slices_by_tag, slices_by_value, PairLabels, DEFAULT_MIN_N,
};
use crate::data::{Dataset, ExtraColumn, ExtraKind, ExtraRequest, DEFAULT_BATCH_ROWS};
use crate::tags::pipeline::{tag_rows, InputColumns, TagOptions};
use duckdb::core::{DataChunkHandle, LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::{BindInfo, InitInfo, TableFunctionInfo, VTab};
use std::sync::Mutex;

const NAME: &str = "judge_agreement";

const COLUMNS: [(&str, ColType); 16] = [
    ("slice", ColType::Varchar),
    ("n", ColType::BigInt),
    ("n_both", ColType::BigInt),
    ("n_agree", ColType::BigInt),
    ("agreement", ColType::Double),
    ("agreement_low", ColType::Double),
    ("agreement_high", ColType::Double),
    ("cohen_kappa", ColType::Double),
    ("human_tie_rate", ColType::Double),
    ("ai_tie_rate", ColType::Double),
    ("ai_prefers_longer", ColType::Double),
    ("position_consistency", ColType::Double),
    ("small_slice", ColType::Boolean),
    ("p_value", ColType::Double),
    ("q_value", ColType::Double),
    ("label", ColType::Varchar),
];

#[derive(Clone)]
enum By {
    Tag(Box<(InputColumns, TagOptions, Dataset)>),
    None,
    Column,
}

#[derive(Clone)]
pub struct Bind {
    dataset: Dataset,
    by: By,
    has_alt: bool,
    min_n: usize,
    /// The file system the datasets read through, held for the query.
    _files: QueryFiles,
}

pub struct JudgeAgreement;

impl VTab for JudgeAgreement {
    type BindData = Bind;
    type InitData = Mutex<Emitter>;

    fn bind(bind: &BindInfo) -> Result<Bind, Box<dyn std::error::Error>> {
        let args = Args::new(NAME, bind);
        let path = args.positional_text(0, "the path")?;
        let overrides = args.overrides()?;
        let by_name = args.text("by")?.unwrap_or_else(|| "tag".into());
        let min_n = match args.i64("min_n")? {
            None => DEFAULT_MIN_N,
            Some(n) if n >= 1 => n as usize,
            Some(n) => return Err(format!("{NAME}: min_n := {n} must be at least 1").into()),
        };
        let files = args.files()?;
        let open = |extras: &[ExtraRequest]| {
            Dataset::open_with(files.opener(), &path, &overrides, extras).map_err(|e| fail(NAME, e))
        };
        let probe = open(&[])?;
        let alt_column = args.text("ai_pref_alt")?;
        if let Some(c) = &alt_column {
            if !probe.has_column(c) {
                return Err(format!(
                    "{NAME}: ai_pref_alt := '{c}' names no column of '{path}'. Hint: its columns are {}",
                    probe.column_names().join(", ")
                )
                .into());
            }
        }
        let alt = alt_column.or_else(|| probe.has_column("ai_pref_alt").then(|| "ai_pref_alt".to_string()));
        let mut extras = Vec::new();
        if let Some(c) = &alt {
            extras.push(ExtraRequest { column: c.clone(), kind: ExtraKind::Label });
        }
        let by = match by_name.as_str() {
            "tag" => {
                let options = TagOptions { tfidf: false, ..tag_options(&args)? };
                let (tag_ds, inputs) = open_for_tagging(&args, &files, &options)?;
                By::Tag(Box::new((inputs, options, tag_ds)))
            }
            "none" => By::None,
            column => {
                if !probe.has_column(column) {
                    return Err(format!(
                        "{NAME}: by := '{column}' is neither 'tag', 'none' nor a column of '{path}'. Hint: its columns are {}",
                        probe.column_names().join(", ")
                    )
                    .into());
                }
                extras.push(ExtraRequest { column: column.to_string(), kind: ExtraKind::Text });
                By::Column
            }
        };
        let dataset = open(&extras)?;
        declare(bind, &COLUMNS);
        Ok(Bind { dataset, by, has_alt: alt.is_some(), min_n, _files: files })
    }

    fn init(init: &InitInfo) -> Result<Mutex<Emitter>, Box<dyn std::error::Error>> {
        Ok(deferred(init, NAME, run))
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
        let mut p = MAPPING_PARAMS.to_vec();
        p.extend(TAG_PARAMS);
        p.extend([
            ("by", ParamType::Varchar),
            ("min_n", ParamType::BigInt),
            ("ai_pref_alt", ParamType::Varchar),
        ]);
        named(&p)
    }
}

fn run(bind: Bind) -> crate::Result<Vec<Block>> {
    let mut rows = Vec::new();
    let mut values: Vec<Option<String>> = Vec::new();
    for unit in bind.dataset.units() {
        for batch in bind.dataset.read_unit(&unit, DEFAULT_BATCH_ROWS)? {
            let batch = batch?;
            let mut extras = batch.extras.iter();
            let alt = if bind.has_alt {
                match extras.next() {
                    Some(ExtraColumn::Label(v)) => Some(v.as_slice()),
                    _ => None,
                }
            } else {
                None
            };
            rows.extend(PairLabels::from_batch(&batch, alt));
            if let (By::Column, Some(ExtraColumn::Text(v))) = (&bind.by, extras.next()) {
                values.extend(v.iter().cloned());
            }
        }
    }
    let slices = match &bind.by {
        By::None => slices_all(rows.len()),
        By::Column => slices_by_value(&values),
        By::Tag(input) => {
            let (inputs, options, ds) = input.as_ref();
            let tagged = tag_rows(ds, inputs, options)?;
            slices_by_tag(&tagged.iter().map(|r| r.tags).collect::<Vec<_>>())
        }
    };
    let stats = judge_agreement(slices, &rows, bind.min_n)?;
    let count = |f: &dyn Fn(&crate::analysis::SliceStats) -> usize| {
        Column::Int(stats.iter().map(|s| Some(f(s) as i64)).collect())
    };
    let float = |f: &dyn Fn(&crate::analysis::SliceStats) -> Option<f64>| {
        Column::Float(stats.iter().map(f).collect())
    };
    Ok(vec![Block {
        columns: vec![
            Column::Text(stats.iter().map(|s| s.slice.clone()).collect()),
            count(&|s| s.n),
            count(&|s| s.n_both),
            count(&|s| s.n_agree),
            float(&|s| s.agreement),
            float(&|s| s.agreement_low),
            float(&|s| s.agreement_high),
            float(&|s| s.cohen_kappa),
            float(&|s| s.human_tie_rate),
            float(&|s| s.ai_tie_rate),
            float(&|s| s.ai_prefers_longer),
            float(&|s| s.position_consistency),
            Column::Bool(stats.iter().map(|s| Some(s.small_slice)).collect()),
            float(&|s| s.p_value),
            float(&|s| s.q_value),
            // The slice as a person reads it, where it is a tag.
            Column::Text(stats.iter().map(|s| s.slice.as_deref().and_then(crate::tags::tag_label)).collect()),
        ],
    }])
}
