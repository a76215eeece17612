//! Reading SQL arguments safely. DuckDB hands us `Value`s; calling a value
//! accessor on a NULL value throws a C++ exception that aborts the host, so
//! every accessor here checks for NULL first and turns it into an error that
//! names the function and the parameter.

use super::files::QueryFiles;
use crate::data::{ColumnOverrides, Field};
use duckdb::core::{LogicalTypeHandle, LogicalTypeId};
use duckdb::vtab::{BindInfo, Value};

/// A named parameter's declared SQL type.
#[derive(Clone, Copy, Debug)]
pub enum ParamType {
    Varchar,
    Double,
    BigInt,
    Boolean,
    /// Any type: for parameters that take a value or a list of values
    /// (`model := 'risk'` or `model := ['paper-prior', 'risk']`).
    Any,
}

impl ParamType {
    pub fn logical(self) -> LogicalTypeHandle {
        match self {
            ParamType::Varchar => LogicalTypeId::Varchar.into(),
            ParamType::Double => LogicalTypeId::Double.into(),
            ParamType::BigInt => LogicalTypeId::Bigint.into(),
            ParamType::Boolean => LogicalTypeId::Boolean.into(),
            ParamType::Any => LogicalTypeId::Any.into(),
        }
    }
}

/// The column-mapping parameters every dataset-reading function accepts.
pub const MAPPING_PARAMS: [(&str, ParamType); 6] = [
    ("id", ParamType::Varchar),
    ("prompt", ParamType::Varchar),
    ("completion_a", ParamType::Varchar),
    ("completion_b", ParamType::Varchar),
    ("human_pref", ParamType::Varchar),
    ("ai_pref", ParamType::Varchar),
];

/// Builds the `named_parameters()` list of a VTab.
pub fn named(params: &[(&str, ParamType)]) -> Option<Vec<(String, LogicalTypeHandle)>> {
    Some(params.iter().map(|(n, t)| (n.to_string(), t.logical())).collect())
}

/// Argument access for one call of one SQL function.
pub struct Args<'a> {
    pub function: &'static str,
    bind: &'a BindInfo,
}

/// An argument error: the message already names the function and parameter.
pub type ArgResult<T> = Result<T, String>;

impl<'a> Args<'a> {
    pub fn new(function: &'static str, bind: &'a BindInfo) -> Self {
        Args { function, bind }
    }

    fn null_error(&self, what: &str) -> String {
        format!("{}: {what} must not be NULL", self.function)
    }

    /// The positional parameter `index` as text (it was declared VARCHAR).
    pub fn positional_text(&self, index: u64, what: &str) -> ArgResult<String> {
        let v = self.bind.get_parameter(index);
        if v.is_null() {
            return Err(self.null_error(what));
        }
        Ok(v.to_string())
    }

    /// The positional parameter `index` as a double (declared DOUBLE).
    pub fn positional_f64(&self, index: u64, what: &str) -> ArgResult<f64> {
        let v = self.bind.get_parameter(index);
        if v.is_null() {
            return Err(self.null_error(what));
        }
        Ok(v.to_double())
    }

    fn named_value(&self, name: &str) -> Option<Value> {
        self.bind.get_named_parameter(name)
    }

    /// Whether the named parameter `name` was given (with any value, NULL included).
    pub fn given(&self, name: &str) -> bool {
        self.named_value(name).is_some()
    }

    /// A VARCHAR named parameter; `Ok(None)` when absent. NULL is an error.
    pub fn text(&self, name: &str) -> ArgResult<Option<String>> {
        match self.named_value(name) {
            None => Ok(None),
            Some(v) if v.is_null() => Err(self.null_error(&format!("{name} :="))),
            Some(v) => Ok(Some(v.to_string())),
        }
    }

    /// A DOUBLE named parameter; `Ok(None)` when absent. NULL is an error.
    pub fn f64(&self, name: &str) -> ArgResult<Option<f64>> {
        match self.named_value(name) {
            None => Ok(None),
            Some(v) if v.is_null() => Err(self.null_error(&format!("{name} :="))),
            Some(v) => Ok(Some(v.to_double())),
        }
    }

    /// A BIGINT named parameter; `Ok(None)` when absent. NULL is an error.
    pub fn i64(&self, name: &str) -> ArgResult<Option<i64>> {
        match self.named_value(name) {
            None => Ok(None),
            Some(v) if v.is_null() => Err(self.null_error(&format!("{name} :="))),
            Some(v) => Ok(Some(v.to_int64())),
        }
    }

    /// A BOOLEAN named parameter; `Ok(None)` when absent. NULL is an error.
    pub fn bool(&self, name: &str) -> ArgResult<Option<bool>> {
        match self.named_value(name) {
            None => Ok(None),
            Some(v) if v.is_null() => Err(self.null_error(&format!("{name} :="))),
            Some(v) => Ok(Some(v.to_bool())),
        }
    }

    /// A parameter that is one text or a list of texts (declared [`ParamType::Any`]);
    /// `Ok(None)` when absent. NULL, a NULL element or an empty list is an error.
    pub fn text_list(&self, name: &str) -> ArgResult<Option<Vec<String>>> {
        self.list(name, |v| v.to_string())
    }

    /// A parameter that is one number or a list of numbers (declared [`ParamType::Any`]).
    pub fn f64_list(&self, name: &str) -> ArgResult<Option<Vec<f64>>> {
        self.list(name, |v| v.to_double())
    }

    fn list<T>(&self, name: &str, get: impl Fn(&Value) -> T) -> ArgResult<Option<Vec<T>>> {
        let Some(v) = self.named_value(name) else { return Ok(None) };
        if v.is_null() {
            return Err(self.null_error(&format!("{name} :=")));
        }
        let items = match v.to_list() {
            Some(items) => items,
            None => return Ok(Some(vec![get(&v)])),
        };
        if items.is_empty() {
            return Err(format!("{}: {name} := [] is an empty list; give at least one value", self.function));
        }
        items
            .iter()
            .map(|x| {
                if x.is_null() {
                    Err(format!("{}: {name} := [...] holds a NULL; give only values", self.function))
                } else {
                    Ok(get(x))
                }
            })
            .collect::<ArgResult<Vec<T>>>()
            .map(Some)
    }

    /// The column-mapping parameters (`id := …`, `prompt := …`, …).
    pub fn overrides(&self) -> ArgResult<ColumnOverrides> {
        let mut o = ColumnOverrides::default();
        for f in Field::ALL {
            if let Some(c) = self.text(f.name())? {
                if c.is_empty() {
                    return Err(format!(
                        "{}: {} := '' names no column; give a column name",
                        self.function,
                        f.name()
                    ));
                }
                o.set(f, c);
            }
        }
        Ok(o)
    }

    /// DuckDB's file system, through which the call reads its input files.
    pub fn files(&self) -> ArgResult<QueryFiles> {
        QueryFiles::of(self.function, self.bind)
    }

    /// The number of worker threads: DuckDB's `threads` setting, at least 1.
    pub fn threads(&self) -> usize {
        let setting = self
            .bind
            .get_config_option("threads")
            .filter(|v| !v.is_null())
            .map(|v| v.to_int64())
            .filter(|n| *n >= 1);
        match setting {
            Some(n) => n as usize,
            None => crate::parallel::default_threads(),
        }
    }
}
