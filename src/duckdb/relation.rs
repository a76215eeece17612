//! Tagging inside DuckDB's own query, over any relation: the aggregate
//! `pref_stats` (the statistics tagging needs from the whole input, computed on
//! every thread and mergeable across shards), the scalar `pref_stats_merge`, and
//! the scalar `pref_tags` (one row's tags given the statistics). They call the
//! same core as `tag_instances`: [`count_instance`] and [`tag_instance`].

use super::aggregate::{write_bytes, write_null, Aggregate};
use super::bound_scalar::{BindArgs, BoundScalar, Constant, LastValue, ParsedOnce};
use super::output::{write_column, Column as OutColumn};
use super::raw_types::RawType;
use super::tagging::{value_block, value_columns};
use super::vectors::Column;
use crate::embed::{model_dir_from_env, EmbeddingModel};
use crate::tags::pipeline::{count_instance, embed_instances, tag_instance, InstanceTags};
use crate::tags::stats::{FrozenStats, Header, PrefStats, FORMAT_VERSION};
use crate::tags::TokenizerKind;
use duckdb::ffi;
use std::borrow::Cow;
use std::sync::Arc;

const TEXTS: [&str; 3] = ["prompt", "completion_a", "completion_b"];

/// Text argument `k` (prompt, completion_a, completion_b) of row `i`; NULL is an error,
/// as in the path functions (an empty string is a valid text).
fn required_text<'a>(
    function: &str,
    cols: &[Column<'a>],
    k: usize,
    i: usize,
) -> Result<Cow<'a, str>, String> {
    cols[k].text(i).ok_or_else(|| {
        format!(
            "{function}: the {} argument is NULL, so the instance cannot be tagged. Hint: fill it (an empty \
             string is a valid text) or leave the row out (WHERE {} IS NOT NULL)",
            TEXTS[k], TEXTS[k]
        )
    })
}

fn tokenizer_of(function: &str, name: &str) -> Result<TokenizerKind, String> {
    TokenizerKind::parse(name).ok_or_else(|| {
        format!("{function}: unknown tokenizer '{name}'. Hint: use 'cl100k_base' (default) or 'o200k_base'")
    })
}

// ------------------------------------------------------------ pref_stats

/// `pref_stats(prompt, completion_a, completion_b [, tokenizer])`: the group's statistics as a BLOB.
#[derive(Default)]
pub struct PrefStatsAgg {
    stats: Option<PrefStats>,
}

impl Aggregate for PrefStatsAgg {
    const NAME: &'static str = "pref_stats";

    fn overloads() -> Vec<Vec<RawType>> {
        let texts = || vec![RawType::varchar(), RawType::varchar(), RawType::varchar()];
        let mut with_tokenizer = texts();
        with_tokenizer.push(RawType::varchar());
        vec![texts(), with_tokenizer]
    }

    fn return_type() -> RawType {
        RawType::blob()
    }

    type Chunk<'a> = Vec<Column<'a>>;

    fn prepare<'a>(cols: Vec<Column<'a>>) -> Result<Vec<Column<'a>>, String> {
        Ok(cols)
    }

    fn update(&mut self, cols: &Vec<Column>, i: usize) -> Result<(), String> {
        let tokenizer = match cols.get(3) {
            None => TokenizerKind::Cl100k,
            Some(c) => {
                let name = c.text(i).ok_or_else(|| {
                    format!(
                        "{}: the tokenizer argument is NULL. Hint: use 'cl100k_base' or 'o200k_base'",
                        Self::NAME
                    )
                })?;
                tokenizer_of(Self::NAME, &name)?
            }
        };
        let stats = self.stats.get_or_insert_with(|| PrefStats::new(tokenizer));
        if stats.tokenizer() != tokenizer {
            return Err(format!(
                "{}: the tokenizer argument must be the same on every row ('{}' and '{}' seen)",
                Self::NAME,
                stats.tokenizer().name(),
                tokenizer.name()
            ));
        }
        let (p, a, b) = (
            required_text(Self::NAME, cols, 0, i)?,
            required_text(Self::NAME, cols, 1, i)?,
            required_text(Self::NAME, cols, 2, i)?,
        );
        count_instance(stats, &p, &a, &b);
        Ok(())
    }

    fn combine(&mut self, other: &Self) -> Result<(), String> {
        let Some(theirs) = &other.stats else { return Ok(()) };
        match &mut self.stats {
            None => self.stats = Some(theirs.clone()),
            Some(mine) => mine.merge(theirs.clone()).map_err(|e| format!("{}: {e}", Self::NAME))?,
        }
        Ok(())
    }

    fn finalize(&mut self, out: ffi::duckdb_vector, row: usize) -> Result<(), String> {
        let bytes = match &self.stats {
            Some(s) => s.to_bytes(),
            None => PrefStats::new(TokenizerKind::Cl100k).to_bytes(),
        };
        // SAFETY: `out` is the BLOB result vector with room for `row`.
        unsafe { write_bytes(out, row, &bytes) };
        Ok(())
    }
}

// ------------------------------------------------------------ parsed statistics, once per value

/// Statistics values parsed during one query, by their header (fingerprint and
/// size): a value is parsed once, however many rows carry it.
type StatsCache = ParsedOnce<Header, FrozenStats>;

/// The parsed statistics of `bytes`, argument `what` of `function`.
fn parsed_stats(
    cache: &StatsCache,
    function: &str,
    what: &str,
    bytes: &[u8],
) -> Result<Arc<FrozenStats>, String> {
    let header = Header::read(bytes).map_err(|e| format!("{function}: {what}: {e}"))?;
    cache.get(function, header, || {
        let stats = PrefStats::from_bytes(bytes).map_err(|e| format!("{function}: {what}: {e}"))?;
        Ok(stats.freeze())
    })
}

/// The statistics of row `i` of the stats column (NULL is an error).
fn row_stats(
    cache: &StatsCache,
    last: &mut LastValue<FrozenStats>,
    function: &str,
    col: &Column,
    i: usize,
) -> Result<Arc<FrozenStats>, String> {
    let bytes = col.bytes(i).ok_or_else(|| {
        format!(
            "{function}: the stats argument is NULL. Hint: pass pref_stats(prompt, completion_a, completion_b) of \
             the relation"
        )
    })?;
    last.get(bytes, |b| parsed_stats(cache, function, "the stats argument", b))
}

// ------------------------------------------------------------ pref_stats_merge

/// `pref_stats_merge(a, b)`: the statistics of both row sets (NULL counts as no rows).
pub struct PrefStatsMerge;

impl BoundScalar for PrefStatsMerge {
    const NAME: &'static str = "pref_stats_merge";

    fn overloads() -> Vec<(Vec<RawType>, RawType)> {
        vec![(vec![RawType::blob(), RawType::blob()], RawType::blob())]
    }

    fn bind(_: &BindArgs) -> Result<Self, String> {
        Ok(PrefStatsMerge)
    }

    fn invoke(&self, cols: &[Column], rows: usize, out: ffi::duckdb_vector) -> Result<(), String> {
        for i in 0..rows {
            let mut merged: Option<PrefStats> = None;
            for (k, what) in ["the first argument", "the second argument"].iter().enumerate() {
                let Some(bytes) = cols[k].bytes(i) else { continue };
                let s = PrefStats::from_bytes(bytes).map_err(|e| format!("{}: {what}: {e}", Self::NAME))?;
                match &mut merged {
                    None => merged = Some(s),
                    Some(m) => m.merge(s).map_err(|e| format!("{}: {e}", Self::NAME))?,
                }
            }
            // SAFETY: `out` is the BLOB result vector with room for `rows` rows.
            unsafe {
                match merged {
                    Some(m) => write_bytes(out, i, &m.to_bytes()),
                    None => write_null(out, i),
                }
            }
        }
        Ok(())
    }
}

// ------------------------------------------------------------ pref_stats_info

/// `pref_stats_info(stats)`: what a statistics value holds, as a STRUCT (NULL for NULL).
pub struct PrefStatsInfo {
    cache: StatsCache,
}

fn info_struct() -> RawType {
    RawType::structure(&[
        ("format_version", RawType::bigint()),
        ("tokenizer", RawType::varchar()),
        ("rows", RawType::bigint()),
        ("documents", RawType::bigint()),
        ("terms", RawType::bigint()),
        ("bytes", RawType::bigint()),
    ])
}

impl BoundScalar for PrefStatsInfo {
    const NAME: &'static str = "pref_stats_info";

    fn overloads() -> Vec<(Vec<RawType>, RawType)> {
        vec![(vec![RawType::blob()], info_struct())]
    }

    fn bind(_: &BindArgs) -> Result<Self, String> {
        Ok(PrefStatsInfo { cache: StatsCache::default() })
    }

    fn invoke(&self, cols: &[Column], rows: usize, out: ffi::duckdb_vector) -> Result<(), String> {
        let mut values: [Vec<Option<i64>>; 5] = Default::default();
        let mut tokenizers = Vec::with_capacity(rows);
        for i in 0..rows {
            let Some(bytes) = cols[0].bytes(i) else {
                values.iter_mut().for_each(|v| v.push(None));
                tokenizers.push(None);
                continue;
            };
            let s = parsed_stats(&self.cache, Self::NAME, "the stats argument", bytes)?;
            // A value of another version does not parse, so this is the version read.
            let version = FORMAT_VERSION;
            let df = s.document_frequencies();
            for (v, x) in values.iter_mut().zip([
                i64::from(version),
                s.rows as i64,
                df.n_documents() as i64,
                df.n_terms() as i64,
                bytes.len() as i64,
            ]) {
                v.push(Some(x));
            }
            tokenizers.push(Some(s.tokenizer.name().to_string()));
        }
        let [version, n_rows, docs, terms, size] = values;
        let columns = [
            OutColumn::Int(version),
            OutColumn::Text(tokenizers),
            OutColumn::Int(n_rows),
            OutColumn::Int(docs),
            OutColumn::Int(terms),
            OutColumn::Int(size),
        ];
        write_struct(out, &columns, rows)
    }
}

/// Writes `columns` into the fields of the STRUCT vector `out`, rows `0..rows`;
/// a row whose first column is NULL is a NULL struct.
fn write_struct(out: ffi::duckdb_vector, columns: &[OutColumn], rows: usize) -> Result<(), String> {
    for (k, column) in columns.iter().enumerate() {
        // SAFETY: `out` is the STRUCT result vector whose field `k` was declared with
        // this column's type, with room for `rows` rows.
        unsafe { write_column(ffi::duckdb_struct_vector_get_child(out, k as u64), column, 0, rows)? };
    }
    if let Some(OutColumn::Int(first)) = columns.first() {
        for (i, v) in first.iter().enumerate() {
            if v.is_none() {
                // SAFETY: row `i` < `rows`, within the result vector.
                unsafe { write_null(out, i) };
            }
        }
    }
    Ok(())
}

// ------------------------------------------------------------ pref_tags

/// `pref_tags(prompt, completion_a, completion_b, stats [, options])`: one row's
/// tags as a STRUCT with the columns of a `tag_instances` row (without `id`),
/// plus `chars_a` and `chars_b`.
pub struct PrefTags {
    tfidf: bool,
    model: Option<Arc<EmbeddingModel>>,
    cache: StatsCache,
}

/// The STRUCT's fields: `tag_instances`' value columns, then the completions' lengths in characters.
fn tags_struct() -> RawType {
    let mut fields: Vec<(&str, RawType)> =
        value_columns().into_iter().map(|(n, t)| (n, RawType::of(t))).collect();
    fields.push(("chars_a", RawType::bigint()));
    fields.push(("chars_b", RawType::bigint()));
    RawType::structure(&fields)
}

const OPTIONS_HINT: &str =
    "give a STRUCT literal such as {'tfidf': false, 'model_dir': '/models/all-MiniLM-L6-v2'}";

impl PrefTags {
    fn options(args: &BindArgs) -> Result<PrefTags, String> {
        let mut tfidf = true;
        let mut model_dir = model_dir_from_env();
        if args.len() > 4 {
            let fields = match args.required_constant(4, "the options argument", OPTIONS_HINT)? {
                Constant::Struct(f) => f,
                Constant::Null => Vec::new(),
                other => {
                    return Err(format!(
                        "{}: the options argument must be a STRUCT, not {other:?}. Hint: {OPTIONS_HINT}",
                        Self::NAME
                    ))
                }
            };
            for (name, v) in fields {
                match (name.as_str(), v) {
                    ("tfidf", Constant::Bool(b)) => tfidf = b,
                    ("model_dir", Constant::Text(d)) => model_dir = (!d.is_empty()).then(|| d.into()),
                    ("tfidf" | "model_dir", v) => {
                        return Err(format!(
                            "{}: options.{name} has the wrong type ({v:?}). Hint: tfidf is a BOOLEAN, model_dir a VARCHAR ('' for none)",
                            Self::NAME
                        ))
                    }
                    (other, _) => {
                        return Err(format!(
                            "{}: unknown option '{other}'. Hint: the options are tfidf (BOOLEAN, default true) and \
                             model_dir (VARCHAR: a sentence-transformers directory for the embedding measures)",
                            Self::NAME
                        ))
                    }
                }
            }
        }
        let model = model_dir
            .map(|d| EmbeddingModel::load(&d))
            .transpose()
            .map_err(|e| format!("{}: {e}", Self::NAME))?;
        Ok(PrefTags { tfidf, model, cache: StatsCache::default() })
    }
}

impl BoundScalar for PrefTags {
    const NAME: &'static str = "pref_tags";

    fn overloads() -> Vec<(Vec<RawType>, RawType)> {
        let args = || vec![RawType::varchar(), RawType::varchar(), RawType::varchar(), RawType::blob()];
        let mut with_options = args();
        with_options.push(RawType::any());
        vec![(args(), tags_struct()), (with_options, tags_struct())]
    }

    fn bind(args: &BindArgs) -> Result<Self, String> {
        PrefTags::options(args)
    }

    fn invoke(&self, cols: &[Column], rows: usize, out: ffi::duckdb_vector) -> Result<(), String> {
        let mut last = LastValue::default();
        let mut tagged: Vec<InstanceTags> = Vec::with_capacity(rows);
        let mut texts = Vec::with_capacity(if self.model.is_some() { rows } else { 0 });
        let mut groups: Vec<(Arc<FrozenStats>, Vec<usize>)> = Vec::new();
        for i in 0..rows {
            let stats = row_stats(&self.cache, &mut last, Self::NAME, &cols[3], i)?;
            let (p, a, b) = (
                required_text(Self::NAME, cols, 0, i)?,
                required_text(Self::NAME, cols, 1, i)?,
                required_text(Self::NAME, cols, 2, i)?,
            );
            tagged.push(tag_instance(&p, &a, &b, &stats, self.tfidf));
            if self.model.is_some() {
                match groups.iter_mut().find(|(s, _)| Arc::ptr_eq(s, &stats)) {
                    Some((_, members)) => members.push(i),
                    None => groups.push((stats, vec![i])),
                }
                texts.push((a, b));
            }
        }
        if let Some(model) = &self.model {
            // One encoder call per statistics value in the chunk (almost always one):
            // the chunk is the step between two of DuckDB's interrupt checks.
            for (stats, members) in &groups {
                let pairs: Vec<(&str, &str)> =
                    members.iter().map(|&i| (&*texts[i].0, &*texts[i].1)).collect();
                let mut rows_of: Vec<InstanceTags> = members.iter().map(|&i| tagged[i].clone()).collect();
                embed_instances(model, &pairs, &mut rows_of, stats)
                    .map_err(|e| format!("{}: {e}", Self::NAME))?;
                for (&i, row) in members.iter().zip(rows_of) {
                    tagged[i] = row;
                }
            }
        }
        let mut columns = value_block(&tagged);
        columns.push(OutColumn::Int(tagged.iter().map(|r| Some(r.chars_a as i64)).collect()));
        columns.push(OutColumn::Int(tagged.iter().map(|r| Some(r.chars_b as i64)).collect()));
        write_struct(out, &columns, rows)
    }
}
