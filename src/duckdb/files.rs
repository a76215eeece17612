//! DuckDB's file system as the core's [`FileOpener`], so that the path
//! functions read what DuckDB can read: local files, and `s3://`, `https://`
//! or `hf://` URLs when the host has httpfs loaded (with its secrets and
//! settings, as seen by the calling connection).
//!
//! Lifetimes. In bind, the client context gives a file system object (a
//! wrapper around a reference into the calling connection's state); the
//! context wrapper itself is released at once. The file system object belongs
//! to a [`QueryFiles`] lease, which the bind data keeps (clones of it go into
//! the init data, which DuckDB drops first). When the last lease clone drops,
//! every file still open through it is closed and the file system object is
//! freed; openers and files that outlive it (held by a background thread that
//! has not noticed the end of the query yet) then fail with an error and never
//! touch DuckDB again. A file is also closed when the core drops it.
//!
//! Threads. Opening goes through one mutex per lease (the file system
//! object's error slot is shared, and opens are rare: one per file and unit).
//! A file handle has a single position, so each file serialises its
//! seek-and-read under its own mutex; the core opens one file per reader, so
//! that mutex is uncontended.

use crate::data::{FileOpener, RandomAccess};
use duckdb::ffi;
use duckdb::vtab::BindInfo;
use std::ffi::{CStr, CString};
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// DuckDB's file system for one bound call; see the module doc.
#[derive(Clone)]
pub struct QueryFiles {
    lease: Arc<Lease>,
}

impl QueryFiles {
    /// The file system of the connection that is binding `function`.
    pub fn of(function: &str, bind: &BindInfo) -> Result<QueryFiles, String> {
        let info = raw_bind_info(bind);
        // SAFETY: `info` is the live bind info of the call that is binding (see
        // `raw_bind_info`). The client context wrapper DuckDB allocates is
        // destroyed right after use; the file system object made from it refers
        // to the connection's file system, not to the wrapper, and is owned by
        // the lease from here on.
        let fs = unsafe {
            let mut context: ffi::duckdb_client_context = std::ptr::null_mut();
            ffi::duckdb_table_function_get_client_context(info, &mut context);
            if context.is_null() {
                return Err(format!("{function}: DuckDB gave no client context. Hint: run the query again"));
            }
            let fs = ffi::duckdb_client_context_get_file_system(context);
            ffi::duckdb_destroy_client_context(&mut context);
            fs
        };
        if fs.is_null() {
            return Err(format!("{function}: DuckDB gave no file system. Hint: run the query again"));
        }
        let shared = Arc::new(Shared { state: Mutex::new(State { fs: RawFs(fs), files: Vec::new() }) });
        Ok(QueryFiles { lease: Arc::new(Lease(shared)) })
    }

    /// An opener for the core; it stops working when the lease ends.
    pub fn opener(&self) -> Arc<dyn FileOpener> {
        Arc::new(DuckOpener(Arc::clone(&self.lease.0)))
    }
}

/// The bind info a duckdb-rs [`BindInfo`] wraps. duckdb-rs (pinned to
/// 1.20000.1 in Cargo.toml) keeps it private, and its `VTab` callbacks see
/// only the wrapper, but reading the client context needs the raw pointer.
fn raw_bind_info(bind: &BindInfo) -> ffi::duckdb_bind_info {
    const _: () = assert!(
        std::mem::size_of::<BindInfo>() == std::mem::size_of::<ffi::duckdb_bind_info>()
            && std::mem::align_of::<BindInfo>() == std::mem::align_of::<ffi::duckdb_bind_info>()
    );
    // SAFETY: duckdb-rs 1.20000.1 declares `pub struct BindInfo { ptr:
    // duckdb_bind_info }`. The assertion above proves the struct is exactly as
    // large as that one field, so the field sits at offset 0 and reading the
    // struct's first pointer-sized word reads the field; a test checks the
    // value against `BindInfo::from`.
    unsafe { *(bind as *const BindInfo).cast::<ffi::duckdb_bind_info>() }
}

/// The owner's handle on [`Shared`]: dropping it releases everything.
struct Lease(Arc<Shared>);

impl Drop for Lease {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        for file in state.files.drain(..).filter_map(|w| w.upgrade()) {
            file.close();
        }
        if !state.fs.0.is_null() {
            // SAFETY: the file system object made in `QueryFiles::of`, freed
            // once (the pointer is nulled); no open is in flight, as opens hold
            // the state lock.
            unsafe { ffi::duckdb_destroy_file_system(&mut state.fs.0) };
        }
    }
}

struct Shared {
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

struct State {
    /// NULL once the lease has ended.
    fs: RawFs,
    /// The files opened, to close those still open when the lease ends.
    files: Vec<Weak<FileHandle>>,
}

struct RawFs(ffi::duckdb_file_system);

// SAFETY: DuckDB's file systems may be used from any thread; the object is
// only touched under the state mutex.
unsafe impl Send for RawFs {}

#[derive(Debug)]
struct DuckOpener(Arc<Shared>);

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DuckDB's file system")
    }
}

impl FileOpener for DuckOpener {
    fn open(&self, path: &str) -> io::Result<Box<dyn RandomAccess>> {
        let c_path = CString::new(path)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "the path contains a NUL character"))?;
        let mut state = self.0.lock();
        let fs = state.fs.0;
        if fs.is_null() {
            return Err(ended());
        }
        // SAFETY: `fs` is live (the lease has not ended: its Drop nulls it under
        // this lock). The options are created and destroyed here; the path
        // lives until the call returns. On failure the error is read from the
        // file system object before anyone else can open (we hold the lock).
        let (handle, size) = unsafe {
            let mut options = ffi::duckdb_create_file_open_options();
            ffi::duckdb_file_open_options_set_flag(
                options,
                ffi::duckdb_file_flag_DUCKDB_FILE_FLAG_READ,
                true,
            );
            let mut handle: ffi::duckdb_file_handle = std::ptr::null_mut();
            let rc = ffi::duckdb_file_system_open(fs, c_path.as_ptr(), options, &mut handle);
            ffi::duckdb_destroy_file_open_options(&mut options);
            if rc != ffi::DuckDBSuccess || handle.is_null() {
                return Err(io::Error::other(take_error(ffi::duckdb_file_system_error_data(fs))));
            }
            let size = ffi::duckdb_file_handle_size(handle);
            if size < 0 {
                let e = take_error(ffi::duckdb_file_handle_error_data(handle));
                close_handle(handle);
                return Err(io::Error::other(e));
            }
            (handle, size as u64)
        };
        let file = Arc::new(FileHandle(Mutex::new(RawHandle(handle))));
        state.files.retain(|w| w.strong_count() > 0);
        state.files.push(Arc::downgrade(&file));
        Ok(Box::new(DuckFile { file, size }))
    }
}

fn ended() -> io::Error {
    io::Error::other("the query that opened DuckDB's file system has ended")
}

/// One open file handle; NULL once closed.
struct FileHandle(Mutex<RawHandle>);

struct RawHandle(ffi::duckdb_file_handle);

// SAFETY: a DuckDB file handle may be used from any thread, one at a time;
// it is only touched under its mutex.
unsafe impl Send for RawHandle {}

impl FileHandle {
    fn lock(&self) -> MutexGuard<'_, RawHandle> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn close(&self) {
        let mut raw = self.lock();
        if !raw.0.is_null() {
            // SAFETY: a live handle from `duckdb_file_system_open`, closed once.
            unsafe { close_handle(raw.0) };
            raw.0 = std::ptr::null_mut();
        }
    }
}

/// Closes and frees a handle. Closing first, through the call that reports
/// errors, means the close inside `duckdb_destroy_file_handle` has nothing
/// left to do (and nothing to throw).
///
/// # Safety
/// `handle` is a live handle, not used afterwards.
unsafe fn close_handle(mut handle: ffi::duckdb_file_handle) {
    // SAFETY: per the contract.
    unsafe {
        ffi::duckdb_file_handle_close(handle);
        ffi::duckdb_destroy_file_handle(&mut handle);
    }
}

/// The message of a DuckDB error object, which is freed.
///
/// # Safety
/// `error` is NULL or an error object DuckDB just returned.
unsafe fn take_error(mut error: ffi::duckdb_error_data) -> String {
    // SAFETY: per the contract; the message is copied before the object is freed.
    unsafe {
        let message = ffi::duckdb_error_data_message(error);
        let text = if message.is_null() {
            "DuckDB's file system failed and gave no reason".to_string()
        } else {
            CStr::from_ptr(message).to_string_lossy().into_owned()
        };
        ffi::duckdb_destroy_error_data(&mut error);
        text
    }
}

/// A file read through DuckDB.
struct DuckFile {
    file: Arc<FileHandle>,
    size: u64,
}

impl DuckFile {
    /// Reads up to `len` bytes from `offset` to `out`; fewer only at the end of the file.
    ///
    /// # Safety
    /// `out` is valid for writes of `len` bytes.
    unsafe fn read_raw(&self, offset: u64, out: *mut u8, len: usize) -> io::Result<usize> {
        let want = len.min(self.size.saturating_sub(offset).try_into().unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let raw = self.file.lock();
        let handle = raw.0;
        if handle.is_null() {
            return Err(ended());
        }
        let position = i64::try_from(offset).map_err(|_| io::Error::other("offset too large"))?;
        // SAFETY: `handle` is live while we hold its lock (closing nulls it
        // under the same lock); each read writes at most the `want - done`
        // bytes asked at `out + done`, inside the `len` bytes the caller vouches for.
        unsafe {
            if ffi::duckdb_file_handle_seek(handle, position) != ffi::DuckDBSuccess {
                return Err(io::Error::other(take_error(ffi::duckdb_file_handle_error_data(handle))));
            }
            let mut done = 0;
            while done < want {
                let n = ffi::duckdb_file_handle_read(handle, out.add(done).cast(), (want - done) as i64);
                if n < 0 {
                    return Err(io::Error::other(take_error(ffi::duckdb_file_handle_error_data(handle))));
                }
                if n == 0 {
                    break;
                }
                done += (n as usize).min(want - done);
            }
            Ok(done)
        }
    }
}

impl RandomAccess for DuckFile {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: `buf` is valid for writes of its length.
        unsafe { self.read_raw(offset, buf.as_mut_ptr(), buf.len()) }
    }

    fn read_vec(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let mut buf = Vec::with_capacity(len);
        // SAFETY: the spare capacity is valid for writes of `len` bytes, and
        // `read_raw` initialised the first `n` of them when it returns `n`.
        unsafe {
            let n = self.read_raw(offset, buf.as_mut_ptr(), len)?;
            buf.set_len(n);
        }
        Ok(buf)
    }
}

impl Drop for DuckFile {
    fn drop(&mut self) {
        self.file.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_raw_bind_info_is_the_one_bind_info_wraps() {
        let mut place = 0u8;
        let raw = (&mut place as *mut u8).cast::<ffi::_duckdb_bind_info>();
        let bind = BindInfo::from(raw);
        assert_eq!(raw_bind_info(&bind), raw);
        // And it is the wrapper's only field.
        assert_eq!(format!("{bind:?}"), format!("BindInfo {{ ptr: {raw:?} }}"));
    }
}
