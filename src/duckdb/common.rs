//! Pieces shared by the functions that tag, score and route a dataset.

use super::args::{Args, ParamType};
use super::fail;
use super::files::QueryFiles;
use super::tagging::{open_for_tagging, tag_options};
use crate::data::{Dataset, ExtraColumn, ExtraKind, ExtraRequest, DEFAULT_BATCH_ROWS};
use crate::model_file::RoutingModel;
use crate::ppm::{Model, PAPER_PRIOR};
use crate::risk::input::score_instances;
use crate::route::{Budget, RouteModel, Strategy, PAPER_N_SIMULATIONS};
use crate::tags::pipeline::{tag_rows, InputColumns, TagOptions, TaggedRow};
use crate::tags::TagMatrix;
use std::sync::Arc;

/// A dataset ready to be tagged, as bound from SQL arguments.
#[derive(Clone)]
pub struct TaggedInput {
    pub dataset: Dataset,
    inputs: InputColumns,
    options: TagOptions,
    /// The file system the dataset reads through, held for the query.
    _files: QueryFiles,
}

impl TaggedInput {
    /// Opens the dataset named by the first argument, with the tagging options.
    /// TF-IDF is not needed for tags, so it is skipped.
    pub fn bind(args: &Args) -> Result<TaggedInput, String> {
        let options = TagOptions { tfidf: false, ..tag_options(args)? };
        let files = args.files()?;
        let (dataset, inputs) = open_for_tagging(args, &files, &options)?;
        Ok(TaggedInput { dataset, inputs, options, _files: files })
    }

    /// Tags every instance (ids, labels and tag sets only).
    pub fn tag(&self) -> crate::Result<Vec<TaggedRow>> {
        tag_rows(&self.dataset, &self.inputs, &self.options)
    }

    /// Also reads `column` (for `routed :=` and similar per-row inputs).
    pub fn with_extra(mut self, column: &str, kind: ExtraKind) -> crate::Result<TaggedInput> {
        self.dataset.add_extra(ExtraRequest { column: column.to_string(), kind })?;
        Ok(self)
    }

    /// The boolean column added by [`with_extra`](Self::with_extra), per row; NULL or
    /// a non-boolean value is an error naming the row id.
    pub fn extra_flags(&self, column: &str) -> crate::Result<Vec<bool>> {
        let k = self.dataset.last_extra().ok_or_else(|| crate::Error::Internal("no extra column".into()))?;
        let mut flags = Vec::new();
        for unit in self.dataset.units() {
            for batch in self.dataset.read_unit(&unit, DEFAULT_BATCH_ROWS)? {
                let batch = batch?;
                let ExtraColumn::Text(values) = &batch.extras[k] else {
                    return Err(crate::Error::Internal("extra column of the wrong kind".into()));
                };
                for (i, v) in values.iter().enumerate() {
                    flags.push(match v.as_deref() {
                        Some("true") => true,
                        Some("false") => false,
                        other => {
                            return Err(crate::Error::Value {
                                path: self.dataset.pattern.clone(),
                                column: column.to_string(),
                                id: batch.ids[i].clone(),
                                value: other.map_or("NULL".to_string(), |s| format!("'{s}'")),
                                message: "a routing flag must be true or false".into(),
                                hint: "use a BOOLEAN column with no NULLs (true = routed to a human)".into(),
                            })
                        }
                    });
                }
            }
        }
        Ok(flags)
    }

    pub fn threads(&self) -> usize {
        self.options.threads
    }

    /// The rows with a human label, tagged, with the judge-error features
    /// (see [`crate::risk::input::eval_data`]).
    pub fn eval_data(
        &self,
        extra: &[String],
        wanted: Option<&[String]>,
        what: &str,
    ) -> crate::Result<crate::risk::eval::EvalData> {
        crate::risk::input::eval_data(&self.dataset, &self.inputs, &self.options, extra, wanted, what)
    }

    /// Tags every instance; under a judge-error model also each one's
    /// probability that the AI label is wrong (the routing input).
    pub fn tag_for(&self, model: &RoutingModel) -> crate::Result<Tagged> {
        match model {
            RoutingModel::Ppm(m) => Ok(Tagged { rows: self.tag()?, model: Scored::Ppm(Box::new(m.dense())) }),
            RoutingModel::Risk(m) => {
                let (rows, p) = score_instances(&self.dataset, &self.inputs, &self.options, m)?;
                Ok(Tagged { rows, model: Scored::Errors(p) })
            }
        }
    }
}

/// Tagged rows and what the bound model makes of them.
pub struct Tagged {
    pub rows: Vec<TaggedRow>,
    pub model: Scored,
}

/// The bound model, ready to route the tagged rows.
pub enum Scored {
    /// A PPM, laid out over the 90 tags.
    Ppm(Box<crate::ppm::DenseModel>),
    /// P(AI label wrong) per row, under a judge-error model.
    Errors(Vec<f64>),
}

impl Tagged {
    /// The model as the routing strategies take it.
    pub fn route_model(&self) -> RouteModel<'_> {
        match &self.model {
            Scored::Ppm(m) => RouteModel::Ppm(m),
            Scored::Errors(p) => RouteModel::JudgeError(p),
        }
    }

    pub fn ids(&self) -> Vec<&str> {
        self.rows.iter().map(|r| r.id.as_str()).collect()
    }
}

/// `model :=` of the routing functions (default `paper-prior`): a PPM or a judge-error model.
pub fn routing_model_arg(args: &Args) -> Result<RoutingModel, String> {
    let name = args.text("model")?.unwrap_or_else(|| PAPER_PRIOR.into());
    RoutingModel::load(&name).map_err(|e| fail(args.function, e))
}

/// The tag matrix of tagged rows.
pub fn matrix(rows: &[TaggedRow]) -> TagMatrix {
    TagMatrix::new(rows.iter().map(|r| r.tags).collect())
}

/// `model :=` of the functions that need a PPM (default: the embedded
/// `paper-prior`), loaded and validated at bind time.
pub fn model_arg(args: &Args) -> Result<Arc<Model>, String> {
    match routing_model_arg(args)? {
        RoutingModel::Ppm(m) => Ok(m),
        RoutingModel::Risk(m) => Err(format!(
            "{}: '{}' is a judge-error model (prefroute-risk); this function needs a PPM. Hint: use \
             'paper-prior' or a model file written by ppm_fit",
            args.function, m.name
        )),
    }
}

/// `strategy :=`, `seed :=`, `n_simulations :=`.
pub fn strategy_arg(args: &Args) -> Result<Strategy, String> {
    let seed = seed_arg(args)?;
    let n_simulations = match args.i64("n_simulations")? {
        None => PAPER_N_SIMULATIONS,
        Some(n) if n >= 1 => n as usize,
        Some(n) => return Err(format!("{}: n_simulations := {n} must be at least 1", args.function)),
    };
    match args.text("strategy")?.as_deref().unwrap_or("auto") {
        "auto" | "optimize" => Ok(Strategy::Optimize),
        "topk" => Ok(Strategy::TopK),
        "simulated" => Ok(Strategy::Simulated { n_simulations, seed }),
        "random" => Ok(Strategy::Random { seed }),
        other => Err(format!(
            "{}: unknown strategy '{other}'. Hint: use 'auto' (= 'optimize'), 'optimize', 'topk', 'simulated' or \
             'random'",
            args.function
        )),
    }
}

/// `seed :=` (default 42); must be non-negative.
pub fn seed_arg(args: &Args) -> Result<u64, String> {
    match args.i64("seed")? {
        None => Ok(42),
        Some(s) if s >= 0 => Ok(s as u64),
        Some(s) => Err(format!("{}: seed := {s} must be 0 or more", args.function)),
    }
}

/// The positional budget at `index`, parsed.
pub fn budget_arg(args: &Args, index: u64) -> Result<Budget, String> {
    let value = args.positional_f64(index, "the budget")?;
    Budget::parse(value).map_err(|e| fail(args.function, e))
}

/// Named parameters for the model and the routing strategy.
pub const ROUTE_PARAMS: [(&str, ParamType); 4] = [
    ("model", ParamType::Varchar),
    ("strategy", ParamType::Varchar),
    ("seed", ParamType::BigInt),
    ("n_simulations", ParamType::BigInt),
];
