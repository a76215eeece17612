//! Reading what the judge-error model needs of a dataset: the tagged
//! instances (a [`TagStream`]) side by side with the judge's own columns
//! (`ai_pref_alt`, `ai_confidence`) and the caller's extra numeric columns.

use super::eval::EvalData;
use super::features::{FeatureSet, InputSignals, JudgeRow};
use super::model::RiskModel;
use crate::data::{Dataset, ExtraColumn, ExtraKind, ExtraRequest, Label, DEFAULT_BATCH_ROWS};
use crate::error::{Error, Result};
use crate::tags::pipeline::{InputColumns, InstanceTags, TagOptions, TagStream, TaggedRow};

/// Name of the swapped-order judge label column.
pub const ALT_COLUMN: &str = "ai_pref_alt";
/// Name of the judge confidence column (0–1).
pub const CONFIDENCE_COLUMN: &str = "ai_confidence";

/// The judge's columns and the extra columns of every row, in input order.
#[derive(Clone, Debug, Default)]
pub struct JudgeColumns {
    pub alt: Option<Vec<Option<Label>>>,
    pub confidence: Option<Vec<Option<f64>>>,
    /// One vector per extra column, in [`InputSignals::extra`] order.
    pub extra: Vec<Vec<Option<f64>>>,
}

impl JudgeColumns {
    /// The signals of row `i`.
    pub fn row<'a>(&self, i: usize, extra: &'a mut Vec<Option<f64>>) -> JudgeRow<'a> {
        extra.clear();
        extra.extend(self.extra.iter().map(|c| c[i]));
        JudgeRow {
            alt: self.alt.as_ref().map(|a| a[i]),
            confidence: self.confidence.as_ref().map(|c| c[i]),
            extra: extra.as_slice(),
        }
    }
}

/// Which judge columns `ds` has, plus the caller's extra columns.
pub fn signals_of(ds: &Dataset, extra: &[String]) -> InputSignals {
    InputSignals {
        has_alt: ds.has_column(ALT_COLUMN),
        has_confidence: ds.has_column(CONFIDENCE_COLUMN),
        extra: extra.to_vec(),
    }
}

/// Reads the judge columns `signals` names (only those `needed` says the
/// caller uses). A confidence outside [0, 1] or a non-finite extra value is an
/// error naming the row id.
pub fn read_judge_columns(
    ds: &Dataset,
    signals: &InputSignals,
    need_alt: bool,
    need_confidence: bool,
) -> Result<JudgeColumns> {
    let mut reader = ds.clone();
    let base = reader.last_extra().map_or(0, |k| k + 1);
    let mut wanted = Vec::new();
    if need_alt && signals.has_alt {
        wanted.push(ExtraRequest { column: ALT_COLUMN.into(), kind: ExtraKind::Label });
    }
    if need_confidence && signals.has_confidence {
        wanted.push(ExtraRequest { column: CONFIDENCE_COLUMN.into(), kind: ExtraKind::Float });
    }
    for c in &signals.extra {
        if !ds.has_column(c) {
            return Err(Error::column(
                &ds.pattern,
                c,
                "no such column (a judge-error model or extra := […] reads it as a numeric feature)",
                format!("the file's columns are {}", ds.column_names().join(", ")),
            ));
        }
        wanted.push(ExtraRequest { column: c.clone(), kind: ExtraKind::Float });
    }
    let mut out = JudgeColumns {
        alt: wanted.iter().any(|w| w.column == ALT_COLUMN && w.kind == ExtraKind::Label).then(Vec::new),
        confidence: (need_confidence && signals.has_confidence).then(Vec::new),
        extra: vec![Vec::new(); signals.extra.len()],
    };
    if wanted.is_empty() {
        return Ok(out);
    }
    for w in &wanted {
        reader.add_extra(w.clone())?;
    }
    for unit in reader.units() {
        for batch in reader.read_unit(&unit, DEFAULT_BATCH_ROWS)? {
            let batch = batch?;
            let mut k = base;
            if let Some(alt) = &mut out.alt {
                let ExtraColumn::Label(v) = &batch.extras[k] else { return Err(kind_bug()) };
                alt.extend_from_slice(v);
                k += 1;
            }
            if let Some(conf) = &mut out.confidence {
                let ExtraColumn::Float(v) = &batch.extras[k] else { return Err(kind_bug()) };
                for (i, c) in v.iter().enumerate() {
                    if let Some(c) = c {
                        if !(0.0..=1.0).contains(c) {
                            return Err(bad_value(
                                ds,
                                CONFIDENCE_COLUMN,
                                &batch.ids[i],
                                *c,
                                "a confidence must be in [0, 1]",
                            ));
                        }
                    }
                }
                conf.extend_from_slice(v);
                k += 1;
            }
            for (e, name) in signals.extra.iter().enumerate() {
                let ExtraColumn::Float(v) = &batch.extras[k + e] else { return Err(kind_bug()) };
                if let Some((i, x)) =
                    v.iter().enumerate().find_map(|(i, x)| x.filter(|x| !x.is_finite()).map(|x| (i, x)))
                {
                    return Err(bad_value(
                        ds,
                        name,
                        &batch.ids[i],
                        x,
                        "an extra feature must be a finite number or NULL",
                    ));
                }
                out.extra[e].extend_from_slice(v);
            }
        }
    }
    Ok(out)
}

fn kind_bug() -> Error {
    Error::Internal("a judge column was read as the wrong kind".into())
}

fn bad_value(ds: &Dataset, column: &str, id: &str, v: f64, message: &str) -> Error {
    Error::Value {
        path: ds.pattern.clone(),
        column: column.to_string(),
        id: id.to_string(),
        value: v.to_string(),
        message: message.to_string(),
        hint: "fix the value, or write NULL where it is unknown".into(),
    }
}

/// Tags every instance of `ds` and calls `visit` with it, its index and its
/// judge signals, in input order, a window at a time (memory stays bounded).
pub fn for_each_instance(
    ds: &Dataset,
    inputs: &InputColumns,
    opts: &TagOptions,
    judge: &JudgeColumns,
    mut visit: impl FnMut(usize, &InstanceTags, &JudgeRow) -> Result<()>,
) -> Result<()> {
    let mut stream = TagStream::new(ds, inputs, opts)?;
    let n = stream.num_rows();
    let lens = judge.alt.iter().map(Vec::len).chain(judge.confidence.iter().map(Vec::len));
    if let Some(len) = lens.chain(judge.extra.iter().map(Vec::len)).find(|len| *len != n) {
        return Err(Error::file(
            &ds.pattern,
            format!("the input changed while it was being read: {len} rows of judge columns, {n} tagged"),
            "do not rewrite the file while a query reads it; run the query again",
        ));
    }
    let mut i = 0;
    let mut extra = Vec::new();
    while let Some(window) = stream.next_window()? {
        for inst in &window {
            let row = judge.row(i, &mut extra);
            visit(i, inst, &row)?;
            i += 1;
        }
    }
    Ok(())
}

/// Tags every instance of `ds` and scores it with `model`: the routing input
/// under a judge-error model. An instance without an AI label gets p = 1 (the
/// judge gave no label to keep). A feature the input lacks, or one unknown for
/// every row, is an error naming it and the columns found.
pub fn score_instances(
    ds: &Dataset,
    inputs: &InputColumns,
    opts: &TagOptions,
    model: &RiskModel,
) -> Result<(Vec<TaggedRow>, Vec<f64>)> {
    let signals = signals_of(ds, &model.extra);
    let features =
        model.feature_set(&signals, &format!("the model '{}'", model.name)).map_err(|e| match e {
            Error::Argument { message, .. } => Error::argument(
                message,
                format!(
                    "route data that has the model's features; the input's columns are {}",
                    ds.column_names().join(", ")
                ),
            ),
            e => e,
        })?;
    let judge =
        read_judge_columns(ds, &signals, model.reads("ai_inconsistent"), model.reads("ai_confidence"))?;
    let opts = TagOptions { tfidf: model.reads("tfidf_cosine"), ..opts.clone() };
    let (mut rows, mut p) = (Vec::new(), Vec::new());
    let mut known = vec![false; features.len()];
    let mut values = Vec::new();
    for_each_instance(ds, inputs, &opts, &judge, |_, inst, row| {
        features.values(inst, row, &mut values);
        for (k, v) in known.iter_mut().zip(&values) {
            *k |= !v.is_nan();
        }
        p.push(if inst.ai_pref.is_none() { 1.0 } else { model.predict(&values) });
        rows.push(TaggedRow {
            id: inst.id.clone(),
            human_pref: inst.human_pref,
            ai_pref: inst.ai_pref,
            tags: inst.tags,
        });
        Ok(())
    })?;
    if let Some(j) = known.iter().position(|k| !k).filter(|_| !rows.is_empty()) {
        return Err(unknown_everywhere(ds, &features.names[j], &model.name));
    }
    Ok((rows, p))
}

fn unknown_everywhere(ds: &Dataset, feature: &str, model: &str) -> Error {
    let how = match feature {
        "cosine_sim" | "bertscore" | "bertscore_length" => {
            "it is computed only with an embedding model (model_dir := …) or passed through from a column of that name"
        }
        _ => "give the input that column, or refit the model without the feature",
    };
    Error::argument(
        format!("the model '{model}' needs the feature '{feature}', which is unknown (NULL) for every row of '{}'", ds.pattern),
        format!("{how}; the input's columns are {}", ds.column_names().join(", ")),
    )
}

/// Reads the rows with a human label for fitting and evaluating judge-error
/// models: their tags, labels and raw values of `wanted` features (all the
/// input offers when `None`; then features unknown for every such row are
/// left out).
pub fn eval_data(
    ds: &Dataset,
    inputs: &InputColumns,
    opts: &TagOptions,
    extra: &[String],
    wanted: Option<&[String]>,
    what: &str,
) -> Result<EvalData> {
    let signals = signals_of(ds, extra);
    let mut collector = EvalCollector::new(&signals, wanted, what)?;
    let uses = |name: &str| collector.uses(name);
    let judge = read_judge_columns(ds, &signals, uses("ai_inconsistent"), uses("ai_confidence"))?;
    let opts = TagOptions { tfidf: uses("tfidf_cosine"), ..opts.clone() };
    for_each_instance(ds, inputs, &opts, &judge, |_, inst, row| {
        collector.add(inst, row);
        Ok(())
    })?;
    if collector.is_empty() {
        return Err(Error::column(
            &ds.pattern,
            ds.mapping.column(crate::data::Field::HumanPref).unwrap_or("human_pref"),
            "no row has a human label",
            "judge-error models learn from rows labelled by both humans and the judge",
        ));
    }
    collector.finish()
}

/// Gathers [`EvalData`] one tagged instance at a time, whatever reads them:
/// the path functions from a [`TagStream`], the relation form (`risk_model`)
/// from DuckDB's rows. Rows without a human label are skipped.
pub struct EvalCollector {
    data: EvalData,
    /// `features := 'auto'`: prune what carries no information at the end.
    auto: bool,
    what: String,
    values: Vec<f64>,
}

impl EvalCollector {
    /// A collector of the `wanted` features (all on offer when `None`).
    pub fn new(signals: &InputSignals, wanted: Option<&[String]>, what: &str) -> Result<EvalCollector> {
        let catalogue = FeatureSet::catalogue(signals)?;
        let features = match wanted {
            Some(w) => catalogue.select(w, what)?,
            None => catalogue,
        };
        let data = EvalData {
            ids: Vec::new(),
            tags: Vec::new(),
            human: Vec::new(),
            ai: Vec::new(),
            features,
            raw: Vec::new(),
        };
        Ok(EvalCollector { data, auto: wanted.is_none(), what: what.to_string(), values: Vec::new() })
    }

    /// The extra columns the collector reads, in the order [`JudgeRow::extra`] gives their values.
    pub fn extra_columns(&self) -> &[String] {
        &self.data.features.extra
    }

    /// Does the collector read feature `name`?
    pub fn uses(&self, name: &str) -> bool {
        self.data.features.names.iter().any(|f| f == name)
    }

    /// Adds one instance (skipped without a human label).
    pub fn add(&mut self, inst: &InstanceTags, judge: &JudgeRow) {
        let Some(human) = inst.human_pref else { return };
        self.data.features.values(inst, judge, &mut self.values);
        self.data.raw.extend_from_slice(&self.values);
        self.data.ids.push(inst.id.clone());
        self.data.tags.push(inst.tags);
        self.data.human.push(human);
        self.data.ai.push(inst.ai_pref);
    }

    /// No row with a human label yet?
    pub fn is_empty(&self) -> bool {
        self.data.ids.is_empty()
    }

    /// The collected rows; with `features := 'auto'`, without the features that
    /// carry no information (unknown, or one value, on every row with both
    /// labels: the rows a model learns from).
    pub fn finish(self) -> Result<EvalData> {
        let mut data = self.data;
        if !self.auto {
            return Ok(data);
        }
        let features = data.features.clone();
        let d = features.len();
        let both: Vec<usize> = (0..data.ids.len()).filter(|&i| data.ai[i].is_some()).collect();
        let varies = |j: usize| {
            let mut known = both.iter().map(|&i| data.raw[i * d + j]).filter(|v| !v.is_nan());
            known.next().is_some_and(|first| known.any(|v| v != first))
        };
        let keep: Vec<usize> = (0..d).filter(|&j| varies(j)).collect();
        if keep.len() < d {
            let names: Vec<String> = keep.iter().map(|&j| features.names[j].clone()).collect();
            data.features = features.select(&names, &self.what)?;
            data.raw = (0..data.ids.len())
                .flat_map(|i| keep.iter().map(move |&j| (i, j)))
                .map(|(i, j)| data.raw[i * d + j])
                .collect();
        }
        Ok(data)
    }
}
