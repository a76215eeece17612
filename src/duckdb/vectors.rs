//! Reading the argument vectors DuckDB hands to raw-C-API scalar and aggregate
//! callbacks. DuckDB flattens every argument before the call, so each vector
//! is a flat array of `rows` values with a validity mask; a STRUCT's fields and
//! a LIST's items are vectors of their own. [`Column`] wraps one such vector,
//! checks its type once, and reads values by row; a read of the wrong kind is
//! an error, never undefined behaviour.

use duckdb::ffi;
use std::marker::PhantomData;

/// The physical kinds this adapter reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// VARCHAR or BLOB (both `duckdb_string_t`).
    Text,
    Double,
    Float,
    BigInt,
    Integer,
    Boolean,
    List,
    Struct,
    Other(u32),
}

/// One argument vector of a callback, valid for the callback's duration (`'a`).
#[derive(Clone, Copy)]
pub struct Column<'a> {
    vector: ffi::duckdb_vector,
    kind: Kind,
    rows: usize,
    _call: PhantomData<&'a ()>,
}

/// A raw logical type's kind.
///
/// # Safety
/// `ty` is a live logical type.
unsafe fn kind_of(ty: ffi::duckdb_logical_type) -> Kind {
    // SAFETY: the caller's contract.
    let id = unsafe { ffi::duckdb_get_type_id(ty) };
    match id {
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR | ffi::DUCKDB_TYPE_DUCKDB_TYPE_BLOB => Kind::Text,
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_DOUBLE => Kind::Double,
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_FLOAT => Kind::Float,
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_BIGINT => Kind::BigInt,
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_INTEGER => Kind::Integer,
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_BOOLEAN => Kind::Boolean,
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_LIST => Kind::List,
        ffi::DUCKDB_TYPE_DUCKDB_TYPE_STRUCT => Kind::Struct,
        other => Kind::Other(other),
    }
}

impl<'a> Column<'a> {
    /// Column `c` of a callback's input chunk.
    ///
    /// # Safety
    /// `chunk` is the live input chunk of the current callback, with at least
    /// `c + 1` columns; it outlives `'a`.
    pub unsafe fn of_chunk(chunk: ffi::duckdb_data_chunk, c: usize) -> Column<'a> {
        // SAFETY: the caller's contract.
        unsafe {
            let rows = ffi::duckdb_data_chunk_get_size(chunk) as usize;
            Column::of_vector(ffi::duckdb_data_chunk_get_vector(chunk, c as u64), rows)
        }
    }

    /// # Safety
    /// `vector` is a live flat vector with at least `rows` rows, outliving `'a`.
    unsafe fn of_vector(vector: ffi::duckdb_vector, rows: usize) -> Column<'a> {
        // SAFETY: the caller's contract; the type handle is destroyed after use.
        let kind = unsafe {
            let mut ty = ffi::duckdb_vector_get_column_type(vector);
            let kind = kind_of(ty);
            ffi::duckdb_destroy_logical_type(&mut ty);
            kind
        };
        Column { vector, kind, rows, _call: PhantomData }
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Is row `i` NULL? (Out of range counts as NULL.)
    pub fn is_null(&self, i: usize) -> bool {
        if i >= self.rows {
            return true;
        }
        // SAFETY: the vector is live for 'a; a NULL mask means every row is valid.
        unsafe {
            let validity = ffi::duckdb_vector_get_validity(self.vector);
            !validity.is_null() && !ffi::duckdb_validity_row_is_valid(validity, i as u64)
        }
    }

    /// Row `i` of a VARCHAR or BLOB column as bytes; `None` for NULL or another kind.
    pub fn bytes(&self, i: usize) -> Option<&'a [u8]> {
        if self.kind != Kind::Text || self.is_null(i) {
            return None;
        }
        // SAFETY: a Text vector's data is an array of `rows` duckdb_string_t; a
        // string's bytes (inline or on DuckDB's heap) live as long as the vector.
        unsafe {
            let data = ffi::duckdb_vector_get_data(self.vector) as *mut ffi::duckdb_string_t;
            let s = data.add(i);
            let len = ffi::duckdb_string_t_length(*s) as usize;
            let ptr = ffi::duckdb_string_t_data(s);
            Some(std::slice::from_raw_parts(ptr as *const u8, len))
        }
    }

    /// Row `i` of a VARCHAR column as text (`None` for NULL); invalid UTF-8 is
    /// replaced, as DuckDB's own VARCHAR values are valid UTF-8.
    pub fn text(&self, i: usize) -> Option<std::borrow::Cow<'a, str>> {
        self.bytes(i).map(String::from_utf8_lossy)
    }

    /// Row `i` as a number from any numeric column; `None` for NULL or a non-number.
    pub fn f64(&self, i: usize) -> Option<f64> {
        if self.is_null(i) {
            return None;
        }
        // SAFETY: the data array holds `rows` values of the kind's physical type.
        unsafe {
            let data = ffi::duckdb_vector_get_data(self.vector);
            match self.kind {
                Kind::Double => Some(*(data as *const f64).add(i)),
                Kind::Float => Some(f64::from(*(data as *const f32).add(i))),
                Kind::BigInt => Some(*(data as *const i64).add(i) as f64),
                Kind::Integer => Some(f64::from(*(data as *const i32).add(i))),
                _ => None,
            }
        }
    }

    /// The items of row `i` of a LIST column as a column over the list's child,
    /// with the row's (offset, length); `None` for NULL or another kind.
    pub fn list(&self, i: usize) -> Option<(Column<'a>, usize, usize)> {
        if self.kind != Kind::List || self.is_null(i) {
            return None;
        }
        // SAFETY: a LIST vector's data is an array of list entries; its child
        // vector holds `duckdb_list_vector_get_size` rows.
        unsafe {
            let entry = *(ffi::duckdb_vector_get_data(self.vector) as *const ffi::duckdb_list_entry).add(i);
            let size = ffi::duckdb_list_vector_get_size(self.vector) as usize;
            let child = Column::of_vector(ffi::duckdb_list_vector_get_child(self.vector), size);
            let (offset, len) = (entry.offset as usize, entry.length as usize);
            (offset.checked_add(len)? <= size).then_some((child, offset, len))
        }
    }

    /// The field names of a STRUCT column, in order; empty for another kind.
    pub fn field_names(&self) -> Vec<String> {
        if self.kind != Kind::Struct {
            return Vec::new();
        }
        // SAFETY: the vector is a live STRUCT vector; child names are copies
        // that DuckDB allocated for us and we free; the type handle is destroyed.
        unsafe {
            let mut ty = ffi::duckdb_vector_get_column_type(self.vector);
            let n = ffi::duckdb_struct_type_child_count(ty);
            let mut names = Vec::with_capacity(n as usize);
            for k in 0..n {
                let raw = ffi::duckdb_struct_type_child_name(ty, k);
                if raw.is_null() {
                    names.push(String::new());
                    continue;
                }
                names.push(std::ffi::CStr::from_ptr(raw).to_string_lossy().into_owned());
                ffi::duckdb_free(raw.cast());
            }
            ffi::duckdb_destroy_logical_type(&mut ty);
            names
        }
    }

    /// The field `name` of a STRUCT column; `None` when the struct has no such field.
    pub fn field(&self, name: &str) -> Option<Column<'a>> {
        let k = self.field_names().iter().position(|n| n == name)?;
        // SAFETY: a STRUCT vector's children are vectors of the same row count.
        Some(unsafe {
            Column::of_vector(ffi::duckdb_struct_vector_get_child(self.vector, k as u64), self.rows)
        })
    }
}

/// The SQL name of a kind, for error messages.
pub fn kind_name(k: Kind) -> String {
    match k {
        Kind::Text => "VARCHAR/BLOB".into(),
        Kind::Double => "DOUBLE".into(),
        Kind::Float => "FLOAT".into(),
        Kind::BigInt => "BIGINT".into(),
        Kind::Integer => "INTEGER".into(),
        Kind::Boolean => "BOOLEAN".into(),
        Kind::List => "LIST".into(),
        Kind::Struct => "STRUCT".into(),
        Kind::Other(id) => format!("type #{id}"),
    }
}
