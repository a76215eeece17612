//! Aggregate functions through DuckDB's C API, which duckdb-rs does not wrap.
//!
//! DuckDB gives every group a fixed-size state block; ours holds one pointer to
//! a boxed Rust value (`S: Aggregate`), made in `init` and freed in `destroy`.
//! `update` runs on every thread over its own states, `combine` folds one
//! thread's states into another's (the source must stay unchanged), and
//! `finalize` writes each group's result. Every callback runs inside
//! `catch_unwind`; an error or a panic becomes a SQL error naming the function.
//! The C API has no aggregate bind: options arrive as ordinary (constant)
//! arguments, read in `update`.

use super::raw_types::RawType;
use super::vectors::Column;
use duckdb::ffi;
use std::ffi::CString;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A mergeable aggregate state. `Default` is the state of no rows.
pub trait Aggregate: Default + Send + 'static {
    /// The SQL name, which prefixes every error.
    const NAME: &'static str;
    /// The argument types of each overload.
    fn overloads() -> Vec<Vec<RawType>>;
    /// The result type (every overload's).
    fn return_type() -> RawType;
    /// What `update` needs of one chunk's argument columns, looked up once per chunk.
    type Chunk<'a>;
    /// Prepares a chunk's argument columns.
    fn prepare<'a>(cols: Vec<Column<'a>>) -> Result<Self::Chunk<'a>, String>;
    /// Adds row `i` of the chunk (NULLs included: the function decides).
    fn update(&mut self, chunk: &Self::Chunk<'_>, i: usize) -> Result<(), String>;
    /// Adds `other`'s rows; `other` must stay as it is.
    fn combine(&mut self, other: &Self) -> Result<(), String>;
    /// Writes the result into row `row` of `out` (a vector of [`Self::return_type`]).
    fn finalize(&mut self, out: ffi::duckdb_vector, row: usize) -> Result<(), String>;
}

/// Registers `S` on `con` under `S::NAME`, one overload per argument list.
///
/// # Safety
/// `con` is an open connection and DuckDB's C API is initialised.
pub unsafe fn register<S: Aggregate>(con: ffi::duckdb_connection) -> Result<(), String> {
    let name = CString::new(S::NAME).map_err(|e| e.to_string())?;
    // SAFETY: the set and functions are created, filled and registered here
    // (DuckDB copies them into its catalog) and destroyed before return.
    unsafe {
        let mut set = ffi::duckdb_create_aggregate_function_set(name.as_ptr());
        for args in S::overloads() {
            let mut f = ffi::duckdb_create_aggregate_function();
            ffi::duckdb_aggregate_function_set_name(f, name.as_ptr());
            for t in &args {
                ffi::duckdb_aggregate_function_add_parameter(f, t.ptr());
            }
            ffi::duckdb_aggregate_function_set_return_type(f, S::return_type().ptr());
            ffi::duckdb_aggregate_function_set_functions(
                f,
                Some(state_size::<S>),
                Some(init::<S>),
                Some(update::<S>),
                Some(combine::<S>),
                Some(finalize::<S>),
            );
            ffi::duckdb_aggregate_function_set_destructor(f, Some(destroy::<S>));
            // NULL arguments reach `update`, which reports or skips them.
            ffi::duckdb_aggregate_function_set_special_handling(f);
            ffi::duckdb_add_aggregate_function_to_set(set, f);
            ffi::duckdb_destroy_aggregate_function(&mut f);
        }
        let rc = ffi::duckdb_register_aggregate_function_set(con, set);
        ffi::duckdb_destroy_aggregate_function_set(&mut set);
        if rc != ffi::DuckDBSuccess {
            return Err(format!("could not register {}", S::NAME));
        }
    }
    Ok(())
}

/// Runs a callback body; an error or a panic is reported through `info`.
fn contained<S: Aggregate>(info: ffi::duckdb_function_info, body: impl FnOnce() -> Result<(), String>) {
    if let Some(message) = super::raw_scan::contained(S::NAME, body) {
        // SAFETY: `info` is the live function info of this callback; DuckDB copies the message.
        unsafe { ffi::duckdb_aggregate_function_set_error(info, message.as_ptr()) };
    }
}

/// The boxed value a state block points to.
///
/// # Safety
/// `state` is a state block initialised by [`init`] for the same `S` and not yet destroyed.
unsafe fn value<'a, S>(state: ffi::duckdb_aggregate_state) -> Option<&'a mut S> {
    // SAFETY: the caller's contract: the block holds a `*mut S` from Box::into_raw (or null).
    unsafe { (state as *mut *mut S).read_unaligned().as_mut() }
}

unsafe extern "C" fn state_size<S: Aggregate>(_: ffi::duckdb_function_info) -> ffi::idx_t {
    std::mem::size_of::<*mut S>() as ffi::idx_t
}

unsafe extern "C" fn init<S: Aggregate>(info: ffi::duckdb_function_info, state: ffi::duckdb_aggregate_state) {
    contained::<S>(info, || {
        let boxed = Box::into_raw(Box::<S>::default());
        // SAFETY: DuckDB hands a fresh block of `state_size` bytes; it now owns the box.
        unsafe { (state as *mut *mut S).write_unaligned(boxed) };
        Ok(())
    });
}

unsafe extern "C" fn update<S: Aggregate>(
    info: ffi::duckdb_function_info,
    input: ffi::duckdb_data_chunk,
    states: *mut ffi::duckdb_aggregate_state,
) {
    contained::<S>(info, || {
        // SAFETY: `input` is this call's chunk; `states` has one initialised state per
        // row. Rows of one call may share a state (one group), so each is borrowed
        // mutably only for its own row.
        unsafe {
            let n = ffi::duckdb_data_chunk_get_size(input) as usize;
            let c = ffi::duckdb_data_chunk_get_column_count(input) as usize;
            let chunk = S::prepare((0..c).map(|k| Column::of_chunk(input, k)).collect())?;
            for i in 0..n {
                let s = value::<S>(*states.add(i)).ok_or_else(|| missing(S::NAME))?;
                s.update(&chunk, i)?;
            }
        }
        Ok(())
    });
}

unsafe extern "C" fn combine<S: Aggregate>(
    info: ffi::duckdb_function_info,
    source: *mut ffi::duckdb_aggregate_state,
    target: *mut ffi::duckdb_aggregate_state,
    count: ffi::idx_t,
) {
    contained::<S>(info, || {
        for i in 0..count as usize {
            // SAFETY: both arrays hold `count` initialised states, distinct from each other.
            let (src, dst) = unsafe { (value::<S>(*source.add(i)), value::<S>(*target.add(i))) };
            let (Some(src), Some(dst)) = (src, dst) else { return Err(missing(S::NAME)) };
            dst.combine(src)?;
        }
        Ok(())
    });
}

unsafe extern "C" fn finalize<S: Aggregate>(
    info: ffi::duckdb_function_info,
    source: *mut ffi::duckdb_aggregate_state,
    result: ffi::duckdb_vector,
    count: ffi::idx_t,
    offset: ffi::idx_t,
) {
    contained::<S>(info, || {
        for i in 0..count as usize {
            // SAFETY: `source` holds `count` initialised states; `result` has room for
            // rows `offset..offset + count`.
            let s = unsafe { value::<S>(*source.add(i)) }.ok_or_else(|| missing(S::NAME))?;
            s.finalize(result, offset as usize + i)?;
        }
        Ok(())
    });
}

unsafe extern "C" fn destroy<S: Aggregate>(states: *mut ffi::duckdb_aggregate_state, count: ffi::idx_t) {
    for i in 0..count as usize {
        // SAFETY: each state block holds the pointer `init` stored (or null); it is
        // taken out and nulled, so a second destroy frees nothing. A panicking
        // destructor is contained.
        unsafe {
            let slot = *states.add(i) as *mut *mut S;
            let p = slot.read_unaligned();
            slot.write_unaligned(std::ptr::null_mut());
            if !p.is_null() {
                let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(p))));
            }
        }
    }
}

fn missing(name: &str) -> String {
    format!("{name}: internal error: DuckDB passed an uninitialised state; run the query again")
}

/// Writes `bytes` as row `row` of a VARCHAR or BLOB vector (DuckDB copies them).
///
/// # Safety
/// `out` is a live VARCHAR or BLOB vector with room for `row`.
pub unsafe fn write_bytes(out: ffi::duckdb_vector, row: usize, bytes: &[u8]) {
    // SAFETY: the caller's contract.
    unsafe {
        ffi::duckdb_vector_assign_string_element_len(
            out,
            row as u64,
            bytes.as_ptr().cast(),
            bytes.len() as u64,
        )
    }
}

/// Marks row `row` of `out` NULL.
///
/// # Safety
/// `out` is a live vector with room for `row`.
pub unsafe fn write_null(out: ffi::duckdb_vector, row: usize) {
    // SAFETY: the caller's contract; the validity mask is made writable first.
    unsafe {
        ffi::duckdb_vector_ensure_validity_writable(out);
        ffi::duckdb_validity_set_row_invalid(ffi::duckdb_vector_get_validity(out), row as u64);
    }
}
