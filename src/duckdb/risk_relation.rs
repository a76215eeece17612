//! The judge-error model over any relation: the aggregate `risk_model` fits it
//! from columns (the `pref_tags` STRUCT, the labels, the judge's signals) and
//! returns the `prefroute-risk/1` JSON that `risk_fit(path)` returns; the scalar
//! `risk_score` scores rows with a model, parsed once per query. Both read the
//! same features as the path functions ([`FeatureSet`]) and fit with the same
//! core ([`EvalCollector`], [`fit_report`]).

use super::aggregate::{write_bytes, Aggregate};
use super::bound_scalar::{BindArgs, BoundScalar, LastValue, ParsedOnce};
use super::raw_types::RawType;
use super::risk::DEFAULT_BUDGETS;
use super::vectors::{kind_name, Column, Kind};
use crate::data::Label;
use crate::risk::eval::{fit_report, EvalOptions};
use crate::risk::input::EvalCollector;
use crate::risk::{FeatureSet, InputSignals, JudgeRow, RiskModel};
use crate::tags::descriptive::Descriptive;
use crate::tags::pipeline::{InstanceTags, Origin, MEASURES};
use crate::tags::{tag_index_of_bytes, TagSet};
use duckdb::ffi;
use std::sync::Arc;

/// Reads an instance's values from a `pref_tags` STRUCT (or a `tag_instances`
/// row as a STRUCT): the tags by name, the measures by field name.
pub struct TagsReader<'a> {
    tags: Column<'a>,
    measures: [Option<Column<'a>>; 9],
    rouge_l: Option<Column<'a>>,
    tfidf: Option<Column<'a>>,
    chars: Option<(Column<'a>, Column<'a>)>,
}

impl<'a> TagsReader<'a> {
    fn new(function: &str, col: &Column<'a>) -> Result<TagsReader<'a>, String> {
        if col.kind() != Kind::Struct {
            return Err(format!(
                "{function}: the tags argument is a {}, not a STRUCT. Hint: pass pref_tags(prompt, completion_a, \
                 completion_b, stats), or a tag_instances row",
                kind_name(col.kind())
            ));
        }
        let tags = col.field("tags").filter(|t| t.kind() == Kind::List).ok_or_else(|| {
            format!(
                "{function}: the tags argument has no 'tags' list. Hint: pass the STRUCT pref_tags returns"
            )
        })?;
        let numeric = |name: &str| {
            col.field(name)
                .filter(|c| matches!(c.kind(), Kind::Double | Kind::BigInt | Kind::Integer | Kind::Float))
        };
        Ok(TagsReader {
            tags,
            measures: MEASURES.map(numeric),
            rouge_l: numeric("rouge_l"),
            tfidf: numeric("tfidf_cosine"),
            chars: numeric("chars_a").zip(numeric("chars_b")),
        })
    }

    /// The instance of row `i` (id and labels for the caller to set).
    fn row(&self, function: &str, i: usize) -> Result<InstanceTags, String> {
        let mut tags = TagSet::EMPTY;
        if let Some((names, offset, len)) = self.tags.list(i) {
            // Looked up as bytes: a row's dozen names cost no UTF-8 check and no allocation.
            for name in (offset..offset + len).filter_map(|j| names.bytes(j)) {
                let t = tag_index_of_bytes(name).ok_or_else(|| {
                    format!(
                        "{function}: '{}' in the tags list is not one of the 90 tag names (tags.txt). Hint: pass \
                         the tags list pref_tags or tag_instances produced, unchanged",
                        String::from_utf8_lossy(name)
                    )
                })?;
                tags.insert(t);
            }
        }
        let measures = std::array::from_fn(|k| self.measures[k].as_ref().and_then(|c| c.f64(i)));
        let (chars_a, chars_b) = match &self.chars {
            Some((a, b)) => (a.f64(i).unwrap_or(0.0) as usize, b.f64(i).unwrap_or(0.0) as usize),
            None => (0, 0),
        };
        Ok(InstanceTags {
            id: String::new(),
            measures,
            measure_origin: [Origin::Input; 9],
            rouge_l: self.rouge_l.as_ref().and_then(|c| c.f64(i)),
            tfidf_cosine: self.tfidf.as_ref().and_then(|c| c.f64(i)),
            descriptive: Descriptive::default(),
            descriptive_origin: [Origin::Input; 8],
            human_pref: None,
            ai_pref: None,
            chars_a,
            chars_b,
            tags,
        })
    }
}

/// A label argument of row `i` (NULL = no label).
fn label(function: &str, col: &Column, i: usize, what: &str) -> Result<Option<Label>, String> {
    let Some(text) = col.text(i) else { return Ok(None) };
    Label::parse(&text).map(Some).ok_or_else(|| {
        format!("{function}: {what} '{text}' is not a preference label. Hint: {}", crate::data::LABEL_HINT)
    })
}

/// `ai_confidence` of row `i`: NULL, or a number in [0, 1].
fn confidence(function: &str, col: &Column, i: usize) -> Result<Option<f64>, String> {
    match col.f64(i) {
        Some(c) if !(0.0..=1.0).contains(&c) => Err(format!(
            "{function}: ai_confidence {c} is outside [0, 1]. Hint: pass the judge's 0–1 confidence, or NULL"
        )),
        c => Ok(c),
    }
}

/// The `extra` argument: a STRUCT of numeric values, one field per extra
/// feature, named as `extra := ['col', …]` names a file's columns
/// (`{'votes': votes, 'len_ratio': len_ratio}`).
pub struct ExtraReader<'a> {
    names: Vec<String>,
    cols: Vec<Column<'a>>,
}

impl<'a> ExtraReader<'a> {
    fn new(function: &str, col: &Column<'a>) -> Result<ExtraReader<'a>, String> {
        let hint =
            "name the numeric columns as the fields of a STRUCT: {'votes': votes, 'len_ratio': len_ratio}";
        if col.kind() != Kind::Struct {
            return Err(format!(
                "{function}: the extra argument is a {}, not a STRUCT. Hint: {hint}",
                kind_name(col.kind())
            ));
        }
        let names = col.field_names();
        let mut cols = Vec::with_capacity(names.len());
        for name in &names {
            let c = col.field(name).ok_or_else(|| {
                format!("{function}: the extra field '{name}' cannot be read. Hint: {hint}")
            })?;
            if !matches!(c.kind(), Kind::Double | Kind::BigInt | Kind::Integer | Kind::Float) {
                return Err(format!(
                    "{function}: the extra field '{name}' is a {}, not a number. Hint: cast it: {{'{name}': {name}::DOUBLE}}",
                    kind_name(c.kind())
                ));
            }
            cols.push(c);
        }
        Ok(ExtraReader { names, cols })
    }

    /// Where each of `wanted` is among the fields; an error naming a missing one.
    fn positions(&self, function: &str, wanted: &[String]) -> Result<Vec<usize>, String> {
        wanted
            .iter()
            .map(|w| {
                self.names.iter().position(|n| n == w).ok_or_else(|| {
                    format!(
                        "{function}: the model reads the extra feature '{w}', which the extra STRUCT lacks (it has: {}). \
                         Hint: add the field: {{'{w}': {w}, …}}",
                        self.names.join(", ")
                    )
                })
            })
            .collect()
    }

    /// Row `i`'s values of the fields at `at` (NULL = unknown; not finite = an error naming the field).
    fn values(
        &self,
        function: &str,
        at: impl IntoIterator<Item = usize>,
        i: usize,
        out: &mut Vec<Option<f64>>,
    ) -> Result<(), String> {
        out.clear();
        for k in at {
            let v = self.cols[k].f64(i);
            if let Some(x) = v.filter(|x| !x.is_finite()) {
                return Err(format!(
                    "{function}: a value of the extra field '{}' is {x}. Hint: an extra feature must be a finite \
                     number or NULL: filter such rows out, or map them with CASE WHEN isfinite(v) THEN v END",
                    self.names[k]
                ));
            }
            out.push(v);
        }
        Ok(())
    }
}

// ------------------------------------------------------------ risk_model

/// One row the aggregate keeps until it fits.
#[derive(Clone)]
struct FitRow {
    inst: InstanceTags,
    alt: Option<Label>,
    confidence: Option<f64>,
    /// The extra STRUCT's values, in its field order.
    extra: Vec<Option<f64>>,
}

/// `risk_model(id, tags, human_pref, ai_pref, ai_pref_alt, ai_confidence [, options [, extra]])`.
#[derive(Default, Clone)]
pub struct RiskModelAgg {
    rows: Vec<FitRow>,
    /// The options argument's text, as first seen (it must be the same on every row).
    options: Option<String>,
    /// The extra STRUCT's field names (empty without one; one type per query).
    extra: Vec<String>,
}

const MODEL_NAME: &str = "risk_model";

/// `risk_model`'s options, from its JSON text.
struct FitOptions {
    l2: f64,
    folds: usize,
    seed: u64,
    features: Option<Vec<String>>,
}

impl FitOptions {
    fn parse(text: Option<&str>) -> Result<FitOptions, String> {
        let mut o = FitOptions { l2: 1.0, folds: 5, seed: 42, features: None };
        let Some(text) = text else { return Ok(o) };
        let bad = |m: String| {
            format!("{MODEL_NAME}: options {m}. Hint: a JSON object such as '{{\"l2\": 1.0, \"folds\": 5, \"seed\": 42, \"features\": [\"ai_inconsistent\", \"rouge\"]}}'")
        };
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(format!("are not JSON ({e})")))?;
        let serde_json::Value::Object(obj) = v else { return Err(bad("must be a JSON object".into())) };
        for (k, v) in obj {
            match k.as_str() {
                "l2" => {
                    o.l2 = v
                        .as_f64()
                        .filter(|x| *x > 0.0 && x.is_finite())
                        .ok_or_else(|| bad(format!("l2 = {v} must be a positive number")))?
                }
                "folds" => {
                    o.folds = v
                        .as_u64()
                        .filter(|k| (2..=100).contains(k))
                        .ok_or_else(|| bad(format!("folds = {v} must be an integer from 2 to 100")))?
                        as usize
                }
                "seed" => {
                    o.seed = v.as_u64().ok_or_else(|| bad(format!("seed = {v} must be an integer ≥ 0")))?
                }
                "features" => {
                    let list: Option<Vec<String>> =
                        v.as_array().and_then(|a| a.iter().map(|x| x.as_str().map(str::to_string)).collect());
                    let list = list
                        .filter(|l| !l.is_empty())
                        .ok_or_else(|| bad(format!("features = {v} must be a non-empty list of names")))?;
                    o.features = (list != ["auto"]).then_some(list);
                }
                other => {
                    return Err(bad(format!(
                        "have an unknown key '{other}' (known: l2, folds, seed, features)"
                    )))
                }
            }
        }
        Ok(o)
    }
}

impl Aggregate for RiskModelAgg {
    const NAME: &'static str = MODEL_NAME;

    fn overloads() -> Vec<Vec<RawType>> {
        let base = || {
            vec![
                RawType::varchar(),
                RawType::any(),
                RawType::varchar(),
                RawType::varchar(),
                RawType::varchar(),
                RawType::double(),
            ]
        };
        let with_options = || {
            let mut a = base();
            a.push(RawType::varchar());
            a
        };
        let mut with_extra = with_options();
        with_extra.push(RawType::any());
        vec![base(), with_options(), with_extra]
    }

    fn return_type() -> RawType {
        RawType::varchar()
    }

    type Chunk<'a> = (Vec<Column<'a>>, TagsReader<'a>, Option<ExtraReader<'a>>);

    fn prepare<'a>(cols: Vec<Column<'a>>) -> Result<Self::Chunk<'a>, String> {
        let reader = TagsReader::new(Self::NAME, &cols[1])?;
        let extra = cols.get(7).map(|c| ExtraReader::new(Self::NAME, c)).transpose()?;
        Ok((cols, reader, extra))
    }

    fn update(&mut self, chunk: &Self::Chunk<'_>, i: usize) -> Result<(), String> {
        let (cols, reader, extra) = chunk;
        let f = Self::NAME;
        if let Some(c) = cols.get(6) {
            let text = c.text(i).map(|t| t.into_owned());
            match (&self.options, text) {
                (_, None) => {
                    return Err(format!("{f}: the options argument is NULL; leave it out for the defaults"))
                }
                (None, Some(t)) => {
                    FitOptions::parse(Some(&t))?;
                    self.options = Some(t);
                }
                (Some(seen), Some(t)) if *seen != t => {
                    return Err(format!("{f}: the options argument must be the same on every row"))
                }
                _ => {}
            }
        }
        let Some(human) = label(f, &cols[2], i, "human_pref")? else { return Ok(()) };
        let id = cols[0].text(i).ok_or_else(|| {
            format!("{f}: the id argument is NULL. Hint: every row needs an id (rows are ordered by it, so the fit does not depend on the threads)")
        })?;
        let mut inst = reader.row(f, i)?;
        inst.id = id.into_owned();
        inst.human_pref = Some(human);
        inst.ai_pref = label(f, &cols[3], i, "ai_pref")?;
        let alt = label(f, &cols[4], i, "ai_pref_alt")?;
        let confidence = confidence(f, &cols[5], i)?;
        let mut values = Vec::new();
        if let Some(x) = extra {
            if self.extra.is_empty() {
                self.extra.clone_from(&x.names);
            }
            x.values(f, 0..x.names.len(), i, &mut values)?;
        }
        self.rows.push(FitRow { inst, alt, confidence, extra: values });
        Ok(())
    }

    fn combine(&mut self, other: &Self) -> Result<(), String> {
        if let (Some(a), Some(b)) = (&self.options, &other.options) {
            if a != b {
                return Err(format!("{}: the options argument must be the same on every row", Self::NAME));
            }
        }
        if self.options.is_none() {
            self.options.clone_from(&other.options);
        }
        if self.extra.is_empty() {
            self.extra.clone_from(&other.extra);
        }
        self.rows.extend(other.rows.iter().cloned());
        Ok(())
    }

    fn finalize(&mut self, out: ffi::duckdb_vector, row: usize) -> Result<(), String> {
        let f = Self::NAME;
        let opts = FitOptions::parse(self.options.as_deref())?;
        if self.rows.is_empty() {
            return Err(format!("{f}: no row has a human label. Hint: judge-error models learn from rows labelled by both humans and the judge"));
        }
        // Rows in id order (then by value), so the fit is the same whatever the threads delivered.
        let mut rows = std::mem::take(&mut self.rows);
        rows.sort_by(|x, y| x.inst.id.cmp(&y.inst.id).then_with(|| row_key(x).cmp(&row_key(y))));
        let signals = InputSignals { has_alt: true, has_confidence: true, extra: self.extra.clone() };
        let mut collector =
            EvalCollector::new(&signals, opts.features.as_deref(), f).map_err(|e| format!("{f}: {e}"))?;
        // The collector reads the extra features it selected, in its own order.
        let at: Vec<usize> = collector
            .extra_columns()
            .iter()
            .map(|c| self.extra.iter().position(|n| n == c).unwrap_or(usize::MAX))
            .collect();
        let mut extra = Vec::new();
        for r in &rows {
            extra.clear();
            extra.extend(at.iter().map(|&k| r.extra.get(k).copied().flatten()));
            let judge = JudgeRow { alt: Some(r.alt), confidence: Some(r.confidence), extra: &extra };
            collector.add(&r.inst, &judge);
        }
        let data = collector.finish().map_err(|e| format!("{f}: {e}"))?;
        if opts.features.is_some() {
            // A named feature must be known somewhere among the rows the model learns from.
            let d = data.features.len();
            let both: Vec<usize> = (0..data.ids.len()).filter(|&i| data.ai[i].is_some()).collect();
            if let Some(j) = (0..d).find(|&j| both.iter().all(|&i| data.raw[i * d + j].is_nan())) {
                return Err(format!(
                    "{f}: the feature '{}' is unknown (NULL) on every row with both labels. Hint: pass its column \
                     (ai_pref_alt, ai_confidence, or pref_tags with model_dir for the embedding measures), or leave it \
                     out of \"features\"",
                    data.features.names[j]
                ));
            }
        }
        let eval = EvalOptions {
            budgets: DEFAULT_BUDGETS.to_vec(),
            folds: opts.folds,
            seed: opts.seed,
            seed_fraction: None,
            l2: opts.l2,
            threads: 1,
        };
        let report = fit_report(&data, &eval).map_err(|e| format!("{f}: {e}"))?;
        let json = report.model.to_json().map_err(|e| format!("{f}: {e}"))?;
        // SAFETY: `out` is the VARCHAR result vector with room for `row`.
        unsafe { write_bytes(out, row, json.as_bytes()) };
        self.rows = rows;
        Ok(())
    }
}

/// A total order on a row's values, for rows that share an id.
fn row_key(r: &FitRow) -> (u128, Vec<u64>, Option<&'static str>, Option<&'static str>, Option<u64>) {
    let bits = r
        .inst
        .measures
        .iter()
        .chain([&r.inst.rouge_l, &r.inst.tfidf_cosine])
        .chain(&r.extra)
        .map(|v| v.map_or(u64::MAX, f64::to_bits))
        .collect();
    (
        r.inst.tags.0,
        bits,
        r.inst.ai_pref.map(Label::as_str),
        r.alt.map(Label::as_str),
        r.confidence.map(f64::to_bits),
    )
}

// ------------------------------------------------------------ risk_score

/// `risk_score(model, tags, ai_pref [, ai_pref_alt [, ai_confidence [, extra]]])`: P(the judge's label is wrong).
///
/// The model is usually a scalar subquery (`(SELECT m FROM model)`), which DuckDB
/// cannot evaluate at bind time: each distinct model text is parsed once per
/// query, when its first row arrives, and found again by its text.
pub struct RiskScore {
    has_alt: bool,
    has_confidence: bool,
    has_extra: bool,
    parsed: ParsedOnce<String, Scorer>,
}

/// A parsed model and the features it reads from this call's arguments.
struct Scorer {
    model: RiskModel,
    features: FeatureSet,
}

const MODEL_HINT: &str =
    "pass the model JSON that risk_model or risk_fit returned (model_json), or the path of a file risk_fit(…, save := …) wrote";

impl RiskScore {
    fn scorer(&self, text: &str) -> Result<Arc<Scorer>, String> {
        let f = Self::NAME;
        self.parsed.get(f, text.to_string(), || {
            let model = if text.trim_start().starts_with('{') {
                RiskModel::from_json(text, "the model argument")
            } else {
                RiskModel::load(std::path::Path::new(text))
            }
            .map_err(|e| format!("{f}: {e}"))?;
            if !model.extra.is_empty() && !self.has_extra {
                return Err(format!(
                    "{f}: the model reads extra features ({}), and no extra argument was given. Hint: pass them as \
                     a STRUCT: risk_score(model, tags, ai_pref, ai_pref_alt, ai_confidence, {{'{}': …}})",
                    model.extra.join(", "),
                    model.extra[0]
                ));
            }
            let signals = InputSignals {
                has_alt: self.has_alt,
                has_confidence: self.has_confidence,
                extra: model.extra.clone(),
            };
            let features = model.feature_set(&signals, &format!("{f}'s model")).map_err(|e| {
                format!(
                    "{f}: {e}. Hint: pass the judge columns it reads: risk_score(model, tags, ai_pref, ai_pref_alt, \
                     ai_confidence)"
                )
            })?;
            Ok(Scorer { model, features })
        })
    }
}

impl BoundScalar for RiskScore {
    const NAME: &'static str = "risk_score";

    fn overloads() -> Vec<(Vec<RawType>, RawType)> {
        let args = |extra: Vec<RawType>| {
            let mut a = vec![RawType::varchar(), RawType::any(), RawType::varchar()];
            a.extend(extra);
            (a, RawType::double())
        };
        vec![
            args(vec![]),
            args(vec![RawType::varchar()]),
            args(vec![RawType::varchar(), RawType::double()]),
            args(vec![RawType::varchar(), RawType::double(), RawType::any()]),
        ]
    }

    fn bind(args: &BindArgs) -> Result<Self, String> {
        Ok(RiskScore {
            has_alt: args.len() >= 4,
            has_confidence: args.len() >= 5,
            has_extra: args.len() >= 6,
            parsed: ParsedOnce::default(),
        })
    }

    fn invoke(&self, cols: &[Column], rows: usize, out: ffi::duckdb_vector) -> Result<(), String> {
        let f = Self::NAME;
        let reader = TagsReader::new(f, &cols[1])?;
        let extra = cols.get(5).map(|c| ExtraReader::new(f, c)).transpose()?;
        let mut values = Vec::new();
        let mut extra_values = Vec::new();
        let mut last = LastValue::default();
        // SAFETY: the result is declared DOUBLE: an f64 array with room for `rows` rows.
        let data =
            unsafe { std::slice::from_raw_parts_mut(ffi::duckdb_vector_get_data(out) as *mut f64, rows) };
        for (i, slot) in data.iter_mut().enumerate() {
            let bytes = cols[0]
                .bytes(i)
                .ok_or_else(|| format!("{f}: the model argument is NULL. Hint: {MODEL_HINT}"))?;
            let scorer = last.get(bytes, |b| {
                let s = self.scorer(&String::from_utf8_lossy(b))?;
                if reader.chars.is_none() && s.model.reads("ai_prefers_longer") {
                    return Err(format!(
                        "{f}: the model reads ai_prefers_longer, which needs the tags STRUCT's chars_a and chars_b. \
                         Hint: pass pref_tags' STRUCT, or add them: struct_insert(t, chars_a := length(completion_a), \
                         chars_b := length(completion_b))"
                    ));
                }
                let at = match &extra {
                    Some(x) => x.positions(f, &s.features.extra)?,
                    None => Vec::new(),
                };
                Ok(Arc::new((s, at)))
            })?;
            let (scorer, at) = (&scorer.0, &scorer.1);
            let mut inst = reader.row(f, i)?;
            inst.ai_pref = label(f, &cols[2], i, "ai_pref")?;
            let alt = cols.get(3).map(|c| label(f, c, i, "ai_pref_alt")).transpose()?;
            let conf = cols.get(4).map(|c| confidence(f, c, i)).transpose()?;
            if let Some(x) = &extra {
                x.values(f, at.iter().copied(), i, &mut extra_values)?;
            }
            let judge = JudgeRow { alt, confidence: conf, extra: &extra_values };
            scorer.features.values(&inst, &judge, &mut values);
            // As route_instances: a row without an AI label has nothing to keep (p = 1).
            *slot = if inst.ai_pref.is_none() { 1.0 } else { scorer.model.predict(&values) };
        }
        Ok(())
    }
}
