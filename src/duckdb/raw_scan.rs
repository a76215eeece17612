//! A table function that DuckDB scans on several threads, registered through
//! DuckDB's C API directly.
//!
//! duckdb-rs's `VTab` trait has one init state shared by every thread, so a
//! scan through it is serial. DuckDB's C API also has a per-thread ("local")
//! init; this module uses it: the global state is a counter over the scan's
//! work units (row groups), each thread's local state is the unit it claimed
//! and the rows of it not yet emitted. A thread is done when its local state is
//! empty and no unit is left.
//!
//! Row order: DuckDB runs a C-API table function on ONE thread whenever the
//! consumer preserves insertion order (a plain SELECT, CREATE TABLE AS, COPY),
//! because such a function cannot tag its chunks with batch indexes. That one
//! thread claims the units in order, so those results come in file order; only
//! order-insensitive consumers (aggregates, joins) get the parallel scan.
//!
//! Every callback runs inside `catch_unwind`; errors and panics become SQL
//! errors through `duckdb_*_set_error`. Only VARCHAR result columns are written.

use super::args::ParamType;
use super::output::{Block, Column};
use duckdb::ffi;
use duckdb::vtab::{BindInfo, InitInfo};
use std::ffi::{c_void, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A scan over independently readable work units. `Self` is the bind data.
pub trait ParallelScan: Sized + Send + Sync + 'static {
    /// A reader positioned inside one unit (per-thread state).
    type Reader: Send;
    /// The SQL name, which prefixes every error.
    const NAME: &'static str;
    /// Positional parameters.
    fn parameters() -> Vec<ParamType>;
    /// Named parameters.
    fn named_parameters() -> Vec<(&'static str, ParamType)>;
    /// Reads the arguments and declares the result columns (all VARCHAR).
    fn bind(bind: &BindInfo) -> Result<Self, String>;
    /// Number of work units.
    fn units(&self) -> usize;
    /// Most threads worth using (at least 1).
    fn max_threads(&self) -> usize;
    /// Opens unit `unit` (0-based, in row order).
    fn open(&self, unit: usize) -> Result<Self::Reader, String>;
    /// The reader's next rows (only [`Column::Text`]), `None` at the unit's end.
    fn next_block(&self, reader: &mut Self::Reader) -> Result<Option<Block>, String>;
}

/// Shared by every thread of one scan: the next unit to claim.
struct Global {
    next_unit: AtomicUsize,
}

/// One thread's state: the unit it reads and the rows not yet emitted.
struct Local<S: ParallelScan> {
    reader: Option<S::Reader>,
    pending: Option<(Block, usize)>,
}

/// Registers `S` on `con`.
///
/// # Safety
/// `con` must be an open connection and DuckDB's C API must be initialised
/// (`duckdb_rs_extension_api_init` succeeded).
pub unsafe fn register<S: ParallelScan>(con: ffi::duckdb_connection) -> Result<(), String> {
    let name = CString::new(S::NAME).map_err(|e| e.to_string())?;
    // SAFETY: the function handle is created, configured and registered here
    // (DuckDB copies it into its catalog) and destroyed before return; every
    // string and logical type passed lives until the call that reads it ends.
    unsafe {
        let mut f = ffi::duckdb_create_table_function();
        ffi::duckdb_table_function_set_name(f, name.as_ptr());
        for t in S::parameters() {
            let mut ty = ffi::duckdb_create_logical_type(raw_type(t));
            ffi::duckdb_table_function_add_parameter(f, ty);
            ffi::duckdb_destroy_logical_type(&mut ty);
        }
        for (param, t) in S::named_parameters() {
            let param = CString::new(param).map_err(|e| e.to_string())?;
            let mut ty = ffi::duckdb_create_logical_type(raw_type(t));
            ffi::duckdb_table_function_add_named_parameter(f, param.as_ptr(), ty);
            ffi::duckdb_destroy_logical_type(&mut ty);
        }
        ffi::duckdb_table_function_set_bind(f, Some(bind::<S>));
        ffi::duckdb_table_function_set_init(f, Some(global_init::<S>));
        ffi::duckdb_table_function_set_local_init(f, Some(local_init::<S>));
        ffi::duckdb_table_function_set_function(f, Some(scan::<S>));
        let rc = ffi::duckdb_register_table_function(con, f);
        ffi::duckdb_destroy_table_function(&mut f);
        if rc != ffi::DuckDBSuccess {
            return Err(format!("could not register {}", S::NAME));
        }
    }
    Ok(())
}

fn raw_type(t: ParamType) -> ffi::DUCKDB_TYPE {
    match t {
        ParamType::Varchar => ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR,
        ParamType::Double => ffi::DUCKDB_TYPE_DUCKDB_TYPE_DOUBLE,
        ParamType::BigInt => ffi::DUCKDB_TYPE_DUCKDB_TYPE_BIGINT,
        ParamType::Boolean => ffi::DUCKDB_TYPE_DUCKDB_TYPE_BOOLEAN,
        ParamType::Any => ffi::DUCKDB_TYPE_DUCKDB_TYPE_ANY,
    }
}

/// Runs a callback body, turning an error or a panic into the message to report.
/// Shared by every callback DuckDB calls through the C API directly (scans,
/// aggregates, scalars with a bind).
pub(super) fn contained(name: &str, body: impl FnOnce() -> Result<(), String>) -> Option<CString> {
    let message = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return None,
        Ok(Err(e)) => e,
        Err(p) => format!(
            "{name} panicked: {} (a bug in prefroute; please report it)",
            crate::parallel::panic_message(&p)
        ),
    };
    // An interior NUL would cut the message short; show it instead.
    Some(CString::new(message.replace('\0', "\\0")).unwrap_or_default())
}

/// Frees a `Box<T>` handed to DuckDB as state.
unsafe extern "C" fn drop_box<T>(p: *mut c_void) {
    if !p.is_null() {
        // SAFETY: DuckDB passes back exactly the pointer we made with
        // `Box::into_raw(Box<T>)`, once. A panicking destructor is contained.
        let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(p.cast::<T>()) })));
    }
}

unsafe extern "C" fn bind<S: ParallelScan>(info: ffi::duckdb_bind_info) {
    let bind_info = BindInfo::from(info);
    let error = contained(S::NAME, || {
        let data = Box::into_raw(Box::new(S::bind(&bind_info)?));
        // SAFETY: `data` is a fresh Box<S>; DuckDB keeps it for the query and
        // frees it with `drop_box::<S>`, the matching destructor.
        unsafe { bind_info.set_bind_data(data.cast(), Some(drop_box::<S>)) };
        Ok(())
    });
    if let Some(e) = error {
        // SAFETY: `info` is the live bind info of this call; DuckDB copies the message.
        unsafe { ffi::duckdb_bind_set_error(info, e.as_ptr()) };
    }
}

unsafe extern "C" fn global_init<S: ParallelScan>(info: ffi::duckdb_init_info) {
    let init = InitInfo::from(info);
    let error = contained(S::NAME, || {
        // SAFETY: the bind data is the Box<S> stored by `bind::<S>`; it outlives
        // every init and scan call of the query and is only read.
        let scan = unsafe { init.get_bind_data::<S>().as_ref() }.ok_or_else(|| missing(S::NAME))?;
        init.set_max_threads(scan.max_threads().clamp(1, scan.units().max(1)) as u64);
        let global = Box::into_raw(Box::new(Global { next_unit: AtomicUsize::new(0) }));
        // SAFETY: a fresh Box<Global>, freed by DuckDB with its matching destructor.
        unsafe { init.set_init_data(global.cast(), Some(drop_box::<Global>)) };
        Ok(())
    });
    if let Some(e) = error {
        // SAFETY: `info` is the live init info of this call; DuckDB copies the message.
        unsafe { ffi::duckdb_init_set_error(info, e.as_ptr()) };
    }
}

unsafe extern "C" fn local_init<S: ParallelScan>(info: ffi::duckdb_init_info) {
    let init = InitInfo::from(info);
    let error = contained(S::NAME, || {
        let local = Box::into_raw(Box::new(Local::<S> { reader: None, pending: None }));
        // SAFETY: in a local init, this sets the calling thread's local state:
        // a fresh Box<Local<S>>, freed by DuckDB with its matching destructor.
        unsafe { init.set_init_data(local.cast(), Some(drop_box::<Local<S>>)) };
        Ok(())
    });
    if let Some(e) = error {
        // SAFETY: `info` is the live init info of this call; DuckDB copies the message.
        unsafe { ffi::duckdb_init_set_error(info, e.as_ptr()) };
    }
}

unsafe extern "C" fn scan<S: ParallelScan>(info: ffi::duckdb_function_info, output: ffi::duckdb_data_chunk) {
    let error = contained(S::NAME, || {
        // SAFETY: the three states are the boxes stored by `bind`, `global_init`
        // and this thread's `local_init`; DuckDB keeps them alive during the
        // call. The bind data is only read; the global state is shared but only
        // touched atomically; the local state belongs to this thread alone, so
        // the `&mut` is unique.
        let (scan, global, local) = unsafe {
            (
                ffi::duckdb_function_get_bind_data(info).cast::<S>().as_ref(),
                ffi::duckdb_function_get_init_data(info).cast::<Global>().as_ref(),
                ffi::duckdb_function_get_local_init_data(info).cast::<Local<S>>().as_mut(),
            )
        };
        let (Some(scan), Some(global), Some(local)) = (scan, global, local) else {
            return Err(missing(S::NAME));
        };
        fill(scan, global, local, output)
    });
    if let Some(e) = error {
        // SAFETY: `info` is the live function info of this call; DuckDB copies the message.
        unsafe { ffi::duckdb_function_set_error(info, e.as_ptr()) };
    }
}

fn missing(name: &str) -> String {
    format!("{name}: internal error: DuckDB passed no scan state; run the query again")
}

/// Emits up to one vector of rows from this thread's unit, claiming the next
/// unit when it is used up; 0 rows only when no unit is left.
fn fill<S: ParallelScan>(
    scan: &S,
    global: &Global,
    local: &mut Local<S>,
    output: ffi::duckdb_data_chunk,
) -> Result<(), String> {
    loop {
        if let Some((block, offset)) = &mut local.pending {
            if *offset < block.len() {
                // SAFETY: a getter of DuckDB's constant vector size (the capacity
                // of `output`); the C API is initialised, as DuckDB is calling us.
                let capacity = unsafe { ffi::duckdb_vector_size() } as usize;
                let n = (block.len() - *offset).min(capacity);
                write_text(block, *offset, n, output, S::NAME)?;
                *offset += n;
                return Ok(());
            }
            local.pending = None;
        }
        if let Some(reader) = &mut local.reader {
            match scan.next_block(reader)? {
                Some(block) => local.pending = Some((block, 0)),
                None => local.reader = None,
            }
            continue;
        }
        let unit = global.next_unit.fetch_add(1, Ordering::Relaxed);
        if unit >= scan.units() {
            // SAFETY: `output` is DuckDB's chunk for this call; size 0 ends this thread's scan.
            unsafe { ffi::duckdb_data_chunk_set_size(output, 0) };
            return Ok(());
        }
        local.reader = Some(scan.open(unit)?);
    }
}

/// Copies rows `from..from + n` of `block` (text columns) into `output`.
fn write_text(
    block: &Block,
    from: usize,
    n: usize,
    output: ffi::duckdb_data_chunk,
    name: &str,
) -> Result<(), String> {
    // SAFETY: `output` is DuckDB's chunk for this call.
    let columns = unsafe { ffi::duckdb_data_chunk_get_column_count(output) } as usize;
    if columns != block.columns.len() {
        return Err(format!(
            "{name}: internal error: {} columns for {columns} declared",
            block.columns.len()
        ));
    }
    for (c, column) in block.columns.iter().enumerate() {
        let Column::Text(values) = column else {
            return Err(format!("{name}: internal error: column {c} is not text"));
        };
        let rows =
            values.get(from..from + n).ok_or_else(|| format!("{name}: internal error: short column {c}"))?;
        // SAFETY: column `c` exists (checked above) and was declared VARCHAR, so
        // its vector holds string elements; `n` is at most the vector size, so
        // every row index written is in bounds. DuckDB copies each string's
        // bytes (`ptr`, `len`) before the call returns. The validity mask is
        // made writable before a row is marked NULL.
        unsafe {
            let vector = ffi::duckdb_data_chunk_get_vector(output, c as u64);
            for (i, v) in rows.iter().enumerate() {
                match v {
                    Some(s) => ffi::duckdb_vector_assign_string_element_len(
                        vector,
                        i as u64,
                        s.as_ptr().cast(),
                        s.len() as u64,
                    ),
                    None => {
                        ffi::duckdb_vector_ensure_validity_writable(vector);
                        ffi::duckdb_validity_set_row_invalid(
                            ffi::duckdb_vector_get_validity(vector),
                            i as u64,
                        );
                    }
                }
            }
        }
    }
    // SAFETY: `output` is DuckDB's chunk for this call; its vectors hold `n` rows now.
    unsafe { ffi::duckdb_data_chunk_set_size(output, n as u64) };
    Ok(())
}
