//! Per-row scalar functions, so tagging works on any DuckDB source (CSV,
//! tables, other extensions): `rouge1`, `rouge_l`, `token_count`,
//! `detect_language` and `describe_prompt`. NULL in gives NULL out.

use crate::tags::descriptive::{describe, Descriptive};
use crate::tags::language::detect_language;
use crate::tags::{rouge1_f, rouge_l_f, token_count, TokenizerKind};
use duckdb::core::{DataChunkHandle, Inserter, LogicalTypeHandle, LogicalTypeId};
use duckdb::ffi::duckdb_string_t;
use duckdb::types::DuckString;
use duckdb::vscalar::{ScalarFunctionSignature, VScalar};
use duckdb::vtab::arrow::WritableVector;
use std::error::Error as StdError;

pub(super) type ScalarResult = Result<(), Box<dyn StdError>>;

/// The VARCHAR input column `col` as owned strings (None = NULL).
pub(super) fn strings(input: &DataChunkHandle, col: usize) -> Vec<Option<String>> {
    let n = input.len();
    let vector = input.flat_vector(col);
    // SAFETY: the signature declares this argument VARCHAR, whose physical storage is
    // duckdb_string_t, and DuckDB provides `n` rows for this call.
    let raw = unsafe { vector.as_slice_with_len::<duckdb_string_t>(n) };
    (0..n)
        .map(|i| {
            if vector.row_is_null(i as u64) {
                None
            } else {
                let mut s = raw[i];
                Some(DuckString::new(&mut s).as_str().into_owned())
            }
        })
        .collect()
}

pub(super) fn write_doubles(output: &mut dyn WritableVector, values: &[Option<f64>]) {
    let mut out = output.flat_vector();
    // SAFETY: the return type is DOUBLE (f64 storage), sized for the input's row count.
    let slice = unsafe { out.as_mut_slice_with_len::<f64>(values.len()) };
    let mut nulls = Vec::new();
    for (i, v) in values.iter().enumerate() {
        slice[i] = v.unwrap_or(0.0);
        if v.is_none() {
            nulls.push(i);
        }
    }
    for i in nulls {
        out.set_null(i);
    }
}

fn varchar() -> LogicalTypeHandle {
    LogicalTypeId::Varchar.into()
}

/// `rouge1(a, b)`: ROUGE-1 F1 with the Porter stemmer, as rouge-score computes it.
pub struct Rouge1;

impl VScalar for Rouge1 {
    type State = ();
    fn invoke(_: &(), input: &mut DataChunkHandle, output: &mut dyn WritableVector) -> ScalarResult {
        let (a, b) = (strings(input, 0), strings(input, 1));
        let v: Vec<Option<f64>> =
            a.iter().zip(&b).map(|(a, b)| Some(rouge1_f(a.as_deref()?, b.as_deref()?))).collect();
        write_doubles(output, &v);
        Ok(())
    }
    fn signatures() -> Vec<ScalarFunctionSignature> {
        vec![ScalarFunctionSignature::exact(vec![varchar(), varchar()], LogicalTypeId::Double.into())]
    }
}

/// `rouge_l(a, b)`: ROUGE-L F1 with the Porter stemmer.
pub struct RougeL;

impl VScalar for RougeL {
    type State = ();
    fn invoke(_: &(), input: &mut DataChunkHandle, output: &mut dyn WritableVector) -> ScalarResult {
        let (a, b) = (strings(input, 0), strings(input, 1));
        let v: Vec<Option<f64>> =
            a.iter().zip(&b).map(|(a, b)| Some(rouge_l_f(a.as_deref()?, b.as_deref()?))).collect();
        write_doubles(output, &v);
        Ok(())
    }
    fn signatures() -> Vec<ScalarFunctionSignature> {
        vec![ScalarFunctionSignature::exact(vec![varchar(), varchar()], LogicalTypeId::Double.into())]
    }
}

/// `token_count(text [, tokenizer])`: BPE tokens (cl100k_base by default, or o200k_base).
pub struct TokenCount;

impl VScalar for TokenCount {
    type State = ();
    fn invoke(_: &(), input: &mut DataChunkHandle, output: &mut dyn WritableVector) -> ScalarResult {
        let texts = strings(input, 0);
        let kinds: Vec<Option<String>> = if input.num_columns() > 1 {
            strings(input, 1)
        } else {
            vec![Some("cl100k_base".into()); texts.len()]
        };
        let mut out = output.flat_vector();
        // SAFETY: the return type is BIGINT (i64 storage), sized for the input's row count.
        let slice = unsafe { out.as_mut_slice_with_len::<i64>(texts.len()) };
        let mut nulls = Vec::new();
        for (i, (t, k)) in texts.iter().zip(&kinds).enumerate() {
            match (t, k) {
                (Some(t), Some(k)) => {
                    let kind = TokenizerKind::parse(k).ok_or_else(|| {
                        format!(
                            "token_count: unknown tokenizer '{k}'. Hint: use 'cl100k_base' or 'o200k_base'"
                        )
                    })?;
                    slice[i] = token_count(t, kind) as i64;
                }
                _ => {
                    slice[i] = 0;
                    nulls.push(i);
                }
            }
        }
        for i in nulls {
            out.set_null(i);
        }
        Ok(())
    }
    fn signatures() -> Vec<ScalarFunctionSignature> {
        vec![
            ScalarFunctionSignature::exact(vec![varchar()], LogicalTypeId::Bigint.into()),
            ScalarFunctionSignature::exact(vec![varchar(), varchar()], LogicalTypeId::Bigint.into()),
        ]
    }
}

/// `detect_language(text)`: the language's English name (e.g. 'English'), or NULL when unsure.
pub struct DetectLanguage;

impl VScalar for DetectLanguage {
    type State = ();
    fn invoke(_: &(), input: &mut DataChunkHandle, output: &mut dyn WritableVector) -> ScalarResult {
        let texts = strings(input, 0);
        let mut out = output.flat_vector();
        for (i, t) in texts.iter().enumerate() {
            match t.as_deref().and_then(detect_language) {
                Some((name, _code)) => out.insert(i, name),
                None => out.set_null(i),
            }
        }
        Ok(())
    }
    fn signatures() -> Vec<ScalarFunctionSignature> {
        vec![ScalarFunctionSignature::exact(vec![varchar()], varchar())]
    }
}

/// The STRUCT returned by `describe_prompt`: the eight descriptive fields.
fn descriptive_struct() -> LogicalTypeHandle {
    let list = || LogicalTypeHandle::list(&varchar());
    LogicalTypeHandle::struct_type(&[
        ("subject_of_expertise", list()),
        ("languages", list()),
        ("expertise_level", varchar()),
        ("open_endedness", varchar()),
        ("safety_concern", varchar()),
        ("complexity_of_intents", varchar()),
        ("type_of_in_context_material", list()),
        ("format_constraints", list()),
    ])
}

/// Accessors of the list-valued and scalar descriptive fields.
type ListField = fn(&Descriptive) -> &Vec<String>;
type ScalarField = fn(&Descriptive) -> &Option<String>;

/// `describe_prompt(prompt)`: the rule-based descriptive tagger, as a STRUCT of the eight fields.
pub struct DescribePrompt;

impl VScalar for DescribePrompt {
    type State = ();
    fn invoke(_: &(), input: &mut DataChunkHandle, output: &mut dyn WritableVector) -> ScalarResult {
        let texts = strings(input, 0);
        let described: Vec<_> = texts.iter().map(|t| t.as_deref().map(describe)).collect();
        let mut out = output.struct_vector();
        let lists: [(usize, ListField); 4] = [
            (0, |d| &d.subject_of_expertise),
            (1, |d| &d.languages),
            (6, |d| &d.type_of_in_context_material),
            (7, |d| &d.format_constraints),
        ];
        for (child, get) in lists {
            let mut list = out.list_vector_child(child);
            let total: usize = described.iter().flatten().map(|d| get(d).len()).sum();
            let values = list.child(total);
            let mut offset = 0;
            for (i, d) in described.iter().enumerate() {
                let items = d.as_ref().map(get).map_or(&[][..], |v| v.as_slice());
                for (j, s) in items.iter().enumerate() {
                    values.insert(offset + j, s.as_str());
                }
                list.set_entry(i, offset, items.len());
                if d.is_none() {
                    // DuckDB reads a field of a NULL struct from the field's own vector,
                    // so the field must be NULL too (not an empty list).
                    list.set_null(i);
                }
                offset += items.len();
            }
            list.set_len(total);
        }
        let scalars: [(usize, ScalarField); 4] = [
            (2, |d| &d.expertise_level),
            (3, |d| &d.open_endedness),
            (4, |d| &d.safety_concern),
            (5, |d| &d.complexity_of_intents),
        ];
        for (child, get) in scalars {
            let mut vector = out.child(child, described.len());
            for (i, d) in described.iter().enumerate() {
                match d.as_ref().and_then(|d| get(d).as_deref()) {
                    Some(s) => vector.insert(i, s),
                    None => vector.set_null(i),
                }
            }
        }
        for (i, d) in described.iter().enumerate() {
            if d.is_none() {
                out.set_null(i);
            }
        }
        Ok(())
    }
    fn signatures() -> Vec<ScalarFunctionSignature> {
        vec![ScalarFunctionSignature::exact(vec![varchar()], descriptive_struct())]
    }
}

/// `ppm_predict(model, counts)`: the model's predicted score for per-tag counts
/// (a list of 90 numbers in tags.txt order). `model` is a file path or an
/// embedded model name; files are cached and reloaded when they change.
pub struct PpmPredict;

impl VScalar for PpmPredict {
    type State = ();
    fn invoke(_: &(), input: &mut DataChunkHandle, output: &mut dyn WritableVector) -> ScalarResult {
        let models = strings(input, 0);
        let n = input.len();
        let list = input.list_vector(1);
        let total = list.len();
        let child = list.child(total);
        // SAFETY: the second argument is declared LIST(DOUBLE); its child holds `total` f64 values.
        let values = unsafe { child.as_slice_with_len::<f64>(total) };
        let mut loaded: Option<(String, std::sync::Arc<crate::ppm::Model>)> = None;
        let mut out = Vec::with_capacity(n);
        for (i, model) in models.iter().enumerate() {
            let Some(model) = model else {
                out.push(None);
                continue;
            };
            if list.row_is_null(i as u64) {
                out.push(None);
                continue;
            }
            let (offset, len) = list.get_entry(i);
            if len != crate::tags::N_TAGS {
                // No row number: `i` counts rows of this chunk only, not of the query.
                return Err(format!(
                    "ppm_predict: counts has {len} values; it needs one per tag, 90 in tags.txt order"
                )
                .into());
            }
            let mut counts = [0.0; crate::tags::N_TAGS];
            for (t, c) in counts.iter_mut().enumerate() {
                if child.row_is_null((offset + t) as u64) {
                    return Err(format!(
                        "ppm_predict: count {} of the list is NULL; use 0 for an absent tag",
                        t + 1
                    )
                    .into());
                }
                *c = values[offset + t];
            }
            if loaded.as_ref().is_none_or(|(name, _)| name != model) {
                let m = crate::ppm::resolve_model(model).map_err(|e| format!("ppm_predict: {e}"))?;
                loaded = Some((model.clone(), m));
            }
            out.push(loaded.as_ref().map(|(_, m)| m.predict(&counts)));
        }
        write_doubles(output, &out);
        Ok(())
    }
    fn signatures() -> Vec<ScalarFunctionSignature> {
        vec![ScalarFunctionSignature::exact(
            vec![varchar(), LogicalTypeHandle::list(&LogicalTypeId::Double.into())],
            LogicalTypeId::Double.into(),
        )]
    }
}

/// `tag_label(tag)`: a canonical tag name as a person reads it ("Subject: Law",
/// "cosine_sim 0.33–0.67"); NULL for NULL or a string that is not a tag name.
pub struct TagLabel;

impl VScalar for TagLabel {
    type State = ();
    fn invoke(_: &(), input: &mut DataChunkHandle, output: &mut dyn WritableVector) -> ScalarResult {
        let names = strings(input, 0);
        let mut out = output.flat_vector();
        for (i, t) in names.iter().enumerate() {
            match t.as_deref().and_then(crate::tags::tag_label) {
                Some(label) => out.insert(i, label.as_str()),
                None => out.set_null(i),
            }
        }
        Ok(())
    }
    fn signatures() -> Vec<ScalarFunctionSignature> {
        vec![ScalarFunctionSignature::exact(vec![varchar()], varchar())]
    }
}
