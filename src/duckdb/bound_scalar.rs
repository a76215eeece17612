//! Scalar functions with a bind step, through DuckDB's C API (duckdb-rs wraps
//! scalar functions without one).
//!
//! The bind runs once per query: it reads the constant arguments — a model, an
//! options STRUCT — by folding their expressions ([`Constant`]), checks them, and
//! keeps the parsed result as the function's bind data, shared by every thread
//! (DuckDB copies bind data with the plan, so it is held in an `Arc`). `invoke`
//! then runs once per chunk on any thread with that data. NULL arguments reach
//! `invoke` (special NULL handling): each function says what NULL means.
//! Every callback runs inside `catch_unwind`; errors become SQL errors.

use super::raw_scan::contained;
use super::raw_types::RawType;
use super::vectors::Column;
use duckdb::ffi;
use std::ffi::{c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

/// A scalar function whose `Self` is its bind data.
pub trait BoundScalar: Send + Sync + Sized + 'static {
    /// The SQL name, which prefixes every error.
    const NAME: &'static str;
    /// Each overload: argument types and result type.
    fn overloads() -> Vec<(Vec<RawType>, RawType)>;
    /// Reads the constant arguments once per query.
    fn bind(args: &BindArgs) -> Result<Self, String>;
    /// Computes rows `0..rows` of `out` from the argument columns.
    fn invoke(&self, cols: &[Column], rows: usize, out: ffi::duckdb_vector) -> Result<(), String>;
}

/// A folded constant argument.
#[derive(Clone, Debug, PartialEq)]
pub enum Constant {
    Null,
    Text(String),
    Bool(bool),
    Int(i64),
    Double(f64),
    /// A STRUCT's fields, by name, in order.
    Struct(Vec<(String, Constant)>),
    /// Any other type, by its DuckDB type id.
    Other(u32),
}

impl Constant {
    /// # Safety
    /// `v` is a live value.
    unsafe fn of(v: ffi::duckdb_value) -> Constant {
        // SAFETY: the caller's contract; every handle and string DuckDB allocates
        // for us here is freed before return.
        unsafe {
            if ffi::duckdb_is_null_value(v) {
                return Constant::Null;
            }
            // Borrowed from the value: not destroyed here.
            let ty = ffi::duckdb_get_value_type(v);
            let id = ffi::duckdb_get_type_id(ty);
            let out = match id {
                ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR => {
                    let raw = ffi::duckdb_get_varchar(v);
                    let s = CStr::from_ptr(raw).to_string_lossy().into_owned();
                    ffi::duckdb_free(raw.cast());
                    Constant::Text(s)
                }
                ffi::DUCKDB_TYPE_DUCKDB_TYPE_BOOLEAN => Constant::Bool(ffi::duckdb_get_bool(v)),
                ffi::DUCKDB_TYPE_DUCKDB_TYPE_TINYINT
                | ffi::DUCKDB_TYPE_DUCKDB_TYPE_SMALLINT
                | ffi::DUCKDB_TYPE_DUCKDB_TYPE_INTEGER
                | ffi::DUCKDB_TYPE_DUCKDB_TYPE_BIGINT => Constant::Int(ffi::duckdb_get_int64(v)),
                ffi::DUCKDB_TYPE_DUCKDB_TYPE_FLOAT
                | ffi::DUCKDB_TYPE_DUCKDB_TYPE_DOUBLE
                | ffi::DUCKDB_TYPE_DUCKDB_TYPE_DECIMAL => Constant::Double(ffi::duckdb_get_double(v)),
                ffi::DUCKDB_TYPE_DUCKDB_TYPE_STRUCT => {
                    let n = ffi::duckdb_struct_type_child_count(ty);
                    let mut fields = Vec::with_capacity(n as usize);
                    for k in 0..n {
                        let raw = ffi::duckdb_struct_type_child_name(ty, k);
                        let name = if raw.is_null() {
                            String::new()
                        } else {
                            let s = CStr::from_ptr(raw).to_string_lossy().into_owned();
                            ffi::duckdb_free(raw.cast());
                            s
                        };
                        let mut child = ffi::duckdb_get_struct_child(v, k);
                        fields.push((name, Constant::of(child)));
                        ffi::duckdb_destroy_value(&mut child);
                    }
                    Constant::Struct(fields)
                }
                other => Constant::Other(other),
            };
            out
        }
    }
}

/// The arguments of one bind.
pub struct BindArgs {
    info: ffi::duckdb_bind_info,
    function: &'static str,
}

impl BindArgs {
    /// Number of arguments.
    pub fn len(&self) -> usize {
        // SAFETY: `info` is the live bind info of this call.
        unsafe { ffi::duckdb_scalar_function_bind_get_argument_count(self.info) as usize }
    }

    /// Argument `i`'s value when it is a constant (DuckDB can fold it at bind
    /// time); `None` when it depends on the rows or is a subquery (which DuckDB
    /// cannot hand out at bind time). `what` names the argument in errors.
    pub fn constant(&self, i: usize, what: &str) -> Result<Option<Constant>, String> {
        // SAFETY: `info` is the live bind info; the expression, the client context,
        // the value and any error data are destroyed before return.
        unsafe {
            let mut expr = ffi::duckdb_scalar_function_bind_get_argument(self.info, i as u64);
            if expr.is_null() {
                // A subquery cannot be copied out at bind time (DuckDB has noted an
                // error; the caller's own error replaces it).
                return Ok(None);
            }
            if !ffi::duckdb_expression_is_foldable(expr) {
                ffi::duckdb_destroy_expression(&mut expr);
                return Ok(None);
            }
            let mut context: ffi::duckdb_client_context = std::ptr::null_mut();
            ffi::duckdb_scalar_function_get_client_context(self.info, &mut context);
            let mut value: ffi::duckdb_value = std::ptr::null_mut();
            let mut error = ffi::duckdb_expression_fold(context, expr, &mut value);
            let failed = !error.is_null() && ffi::duckdb_error_data_has_error(error);
            let message = if failed {
                let m = ffi::duckdb_error_data_message(error);
                (!m.is_null()).then(|| CStr::from_ptr(m).to_string_lossy().into_owned())
            } else {
                None
            };
            if !error.is_null() {
                ffi::duckdb_destroy_error_data(&mut error);
            }
            ffi::duckdb_destroy_client_context(&mut context);
            ffi::duckdb_destroy_expression(&mut expr);
            if failed || value.is_null() {
                return Err(format!(
                    "{}: {what} could not be evaluated: {}",
                    self.function,
                    message.unwrap_or_else(|| "DuckDB gave no value".into())
                ));
            }
            let c = Constant::of(value);
            ffi::duckdb_destroy_value(&mut value);
            Ok(Some(c))
        }
    }

    /// Argument `i`, which must be a constant: an error says so otherwise.
    pub fn required_constant(&self, i: usize, what: &str, hint: &str) -> Result<Constant, String> {
        self.constant(i, what)?.ok_or_else(|| {
            format!("{}: {what} must be a constant (the same for every row). Hint: {hint}", self.function)
        })
    }
}

/// Registers `S` on `con` under `S::NAME`.
///
/// # Safety
/// `con` is an open connection and DuckDB's C API is initialised.
pub unsafe fn register<S: BoundScalar>(con: ffi::duckdb_connection) -> Result<(), String> {
    let name = CString::new(S::NAME).map_err(|e| e.to_string())?;
    // SAFETY: the set and functions are created, filled and registered here
    // (DuckDB copies them into its catalog) and destroyed before return.
    unsafe {
        let mut set = ffi::duckdb_create_scalar_function_set(name.as_ptr());
        for (args, ret) in S::overloads() {
            let mut f = ffi::duckdb_create_scalar_function();
            ffi::duckdb_scalar_function_set_name(f, name.as_ptr());
            for t in &args {
                ffi::duckdb_scalar_function_add_parameter(f, t.ptr());
            }
            ffi::duckdb_scalar_function_set_return_type(f, ret.ptr());
            ffi::duckdb_scalar_function_set_special_handling(f);
            ffi::duckdb_scalar_function_set_bind(f, Some(bind::<S>));
            ffi::duckdb_scalar_function_set_function(f, Some(invoke::<S>));
            ffi::duckdb_add_scalar_function_to_set(set, f);
            ffi::duckdb_destroy_scalar_function(&mut f);
        }
        let rc = ffi::duckdb_register_scalar_function_set(con, set);
        ffi::duckdb_destroy_scalar_function_set(&mut set);
        if rc != ffi::DuckDBSuccess {
            return Err(format!("could not register {}", S::NAME));
        }
    }
    Ok(())
}

/// The bind data DuckDB holds: one `Arc` per copy of the plan.
type Shared<S> = Arc<S>;

unsafe extern "C" fn drop_shared<S: BoundScalar>(p: *mut c_void) {
    if !p.is_null() {
        // SAFETY: DuckDB passes back, once, a pointer made by Box::into_raw(Box<Shared<S>>).
        let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(p.cast::<Shared<S>>()) })));
    }
}

unsafe extern "C" fn copy_shared<S: BoundScalar>(p: *mut c_void) -> *mut c_void {
    // SAFETY: `p` is a live Box<Shared<S>> made by `bind` or by this function.
    match unsafe { p.cast::<Shared<S>>().as_ref() } {
        Some(shared) => Box::into_raw(Box::new(Arc::clone(shared))).cast(),
        None => std::ptr::null_mut(),
    }
}

unsafe extern "C" fn bind<S: BoundScalar>(info: ffi::duckdb_bind_info) {
    let error = contained(S::NAME, || {
        let data: Shared<S> = Arc::new(S::bind(&BindArgs { info, function: S::NAME })?);
        let boxed = Box::into_raw(Box::new(data));
        // SAFETY: `info` is the live bind info; DuckDB owns the box from here and
        // frees (or copies) it with the matching callbacks.
        unsafe {
            ffi::duckdb_scalar_function_set_bind_data(info, boxed.cast(), Some(drop_shared::<S>));
            ffi::duckdb_scalar_function_set_bind_data_copy(info, Some(copy_shared::<S>));
        }
        Ok(())
    });
    if let Some(e) = error {
        // SAFETY: `info` is the live bind info of this call; DuckDB copies the message.
        unsafe { ffi::duckdb_scalar_function_bind_set_error(info, e.as_ptr()) };
    }
}

unsafe extern "C" fn invoke<S: BoundScalar>(
    info: ffi::duckdb_function_info,
    input: ffi::duckdb_data_chunk,
    output: ffi::duckdb_vector,
) {
    let error = contained(S::NAME, || {
        // SAFETY: the bind data is the Box<Shared<S>> stored by `bind` (or a copy);
        // `input` is this call's chunk, alive for the call.
        unsafe {
            let data = ffi::duckdb_scalar_function_get_bind_data(info).cast::<Shared<S>>().as_ref();
            let data = data.ok_or_else(|| {
                format!("{}: internal error: DuckDB passed no bind data; run the query again", S::NAME)
            })?;
            let rows = ffi::duckdb_data_chunk_get_size(input) as usize;
            let c = ffi::duckdb_data_chunk_get_column_count(input) as usize;
            let cols: Vec<Column> = (0..c).map(|k| Column::of_chunk(input, k)).collect();
            data.invoke(&cols, rows, output)
        }
    });
    if let Some(e) = error {
        // SAFETY: `info` is the live function info of this call; DuckDB copies the message.
        unsafe { ffi::duckdb_scalar_function_set_error(info, e.as_ptr()) };
    }
}

/// At most this many distinct values of an argument are kept parsed per query.
const PARSED_SLOTS: usize = 8;

/// Values parsed from a non-constant argument (a scalar subquery's model or
/// statistics, which DuckDB cannot hand to a bind), once per distinct value in
/// a query, found again by `K`. Shared by every thread of the query.
pub struct ParsedOnce<K, V> {
    slots: Mutex<Vec<(K, Arc<V>)>>,
}

impl<K: PartialEq, V> Default for ParsedOnce<K, V> {
    fn default() -> Self {
        ParsedOnce { slots: Mutex::new(Vec::new()) }
    }
}

impl<K: PartialEq, V> ParsedOnce<K, V> {
    /// The value parsed for `key`, parsing it with `parse` the first time.
    pub fn get(
        &self,
        function: &str,
        key: K,
        parse: impl FnOnce() -> Result<V, String>,
    ) -> Result<Arc<V>, String> {
        let mut slots = self.slots.lock().map_err(|_| {
            format!("{function}: an earlier failure left this query's parsed values unusable; run the query again")
        })?;
        if let Some((_, v)) = slots.iter().find(|(k, _)| *k == key) {
            return Ok(Arc::clone(v));
        }
        let v = Arc::new(parse()?);
        if slots.len() >= PARSED_SLOTS {
            slots.remove(0);
        }
        slots.push((key, Arc::clone(&v)));
        Ok(v)
    }
}

/// Within one chunk: the value of the previous row when this row carries the
/// same bytes at the same address (a broadcast value does), so most rows cost a
/// pointer comparison.
pub struct LastValue<V> {
    last: Option<(*const u8, usize, Arc<V>)>,
}

impl<V> Default for LastValue<V> {
    fn default() -> Self {
        LastValue { last: None }
    }
}

impl<V> LastValue<V> {
    /// The value of `bytes`: the previous row's when the same, else `load(bytes)`.
    pub fn get(
        &mut self,
        bytes: &[u8],
        load: impl FnOnce(&[u8]) -> Result<Arc<V>, String>,
    ) -> Result<Arc<V>, String> {
        if let Some((p, n, v)) = &self.last {
            if *p == bytes.as_ptr() && *n == bytes.len() {
                return Ok(Arc::clone(v));
            }
        }
        let v = load(bytes)?;
        self.last = Some((bytes.as_ptr(), bytes.len(), Arc::clone(&v)));
        Ok(v)
    }
}
