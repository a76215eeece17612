//! The DuckDB adapter: the only module that knows DuckDB exists, and the only
//! one with `unsafe` code. It turns SQL arguments into core values, calls the
//! core, and copies results into DuckDB vectors. Every failure becomes a SQL
//! error naming the function; nothing here may panic across the FFI boundary.

mod agreement;
mod args;
mod common;
mod instances;
mod output;
mod ppm;
mod routing;
mod scalars;
mod tagging;

use duckdb::vtab::BindInfo;
use duckdb::Connection;
use output::ColType;
use std::error::Error as StdError;

/// Declares the result columns of a table function.
fn declare(bind: &BindInfo, columns: &[(&str, ColType)]) {
    for (name, ty) in columns {
        bind.add_result_column(name, ty.logical());
    }
}

/// A core error as the SQL error text of `function`.
fn fail(function: &str, e: crate::Error) -> String {
    format!("{function}: {e}")
}

/// Registers every SQL function of prefroute on `con`.
fn register_all(con: &Connection) -> Result<(), Box<dyn StdError>> {
    con.register_table_function::<instances::PrefInstances>("pref_instances")?;
    con.register_table_function::<tagging::TagInstances>("tag_instances")?;
    con.register_table_function::<agreement::JudgeAgreement>("judge_agreement")?;
    con.register_table_function::<routing::RouteInstances>("route_instances")?;
    con.register_table_function::<routing::BudgetCurve>("budget_curve")?;
    con.register_table_function::<routing::HybridDataset>("hybrid_dataset")?;
    con.register_table_function::<ppm::PpmFit>("ppm_fit")?;
    con.register_table_function::<ppm::PpmWeights>("ppm_weights")?;
    con.register_table_function::<ppm::PpmScore>("ppm_score")?;
    con.register_table_function::<ppm::TagGains>("tag_gains")?;
    con.register_table_function::<ppm::SimulateCandidates>("simulate_candidates")?;
    con.register_scalar_function::<scalars::PpmPredict>("ppm_predict")?;
    con.register_scalar_function::<scalars::Rouge1>("rouge1")?;
    con.register_scalar_function::<scalars::RougeL>("rouge_l")?;
    con.register_scalar_function::<scalars::TokenCount>("token_count")?;
    con.register_scalar_function::<scalars::DetectLanguage>("detect_language")?;
    con.register_scalar_function::<scalars::DescribePrompt>("describe_prompt")?;
    Ok(())
}

/// The extension's entry point. A panic here would abort the host process
/// (DuckDB calls it through C), so registration runs inside `catch_unwind`
/// and a panic becomes a load error.
#[duckdb::duckdb_entrypoint_c_api(ext_name = "prefroute", min_duckdb_version = "v1.5.6")]
pub unsafe fn extension_entrypoint(con: Connection) -> Result<(), Box<dyn StdError>> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| register_all(&con))) {
        Ok(result) => result,
        Err(p) => Err(format!("prefroute failed to load: {}", crate::parallel::panic_message(&p)).into()),
    }
}
