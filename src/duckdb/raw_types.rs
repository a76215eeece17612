//! DuckDB logical types as raw C-API handles, for the functions registered
//! through the C API directly (duckdb-rs keeps its handles' pointers private).
//! A [`RawType`] owns its handle and destroys it when dropped.

use super::output::{ColType, NestedType};
use duckdb::ffi;
use std::ffi::CString;

/// An owned `duckdb_logical_type`.
pub struct RawType(ffi::duckdb_logical_type);

impl Drop for RawType {
    fn drop(&mut self) {
        // SAFETY: the handle was created by this module and is destroyed once.
        unsafe { ffi::duckdb_destroy_logical_type(&mut self.0) }
    }
}

impl RawType {
    fn primitive(t: ffi::DUCKDB_TYPE) -> RawType {
        // SAFETY: creating a primitive type has no preconditions once the C API is initialised.
        RawType(unsafe { ffi::duckdb_create_logical_type(t) })
    }

    pub fn varchar() -> RawType {
        RawType::primitive(ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR)
    }

    pub fn blob() -> RawType {
        RawType::primitive(ffi::DUCKDB_TYPE_DUCKDB_TYPE_BLOB)
    }

    pub fn double() -> RawType {
        RawType::primitive(ffi::DUCKDB_TYPE_DUCKDB_TYPE_DOUBLE)
    }

    pub fn bigint() -> RawType {
        RawType::primitive(ffi::DUCKDB_TYPE_DUCKDB_TYPE_BIGINT)
    }

    pub fn boolean() -> RawType {
        RawType::primitive(ffi::DUCKDB_TYPE_DUCKDB_TYPE_BOOLEAN)
    }

    /// Any type: the function reads what it gets (scalar functions check it at bind).
    pub fn any() -> RawType {
        RawType::primitive(ffi::DUCKDB_TYPE_DUCKDB_TYPE_ANY)
    }

    pub fn list(child: &RawType) -> RawType {
        // SAFETY: `child` is live; DuckDB copies it into the new type.
        RawType(unsafe { ffi::duckdb_create_list_type(child.0) })
    }

    pub fn structure(fields: &[(&str, RawType)]) -> RawType {
        let names: Vec<CString> = fields.iter().map(|(n, _)| CString::new(*n).unwrap_or_default()).collect();
        let mut name_ptrs: Vec<*const std::os::raw::c_char> = names.iter().map(|n| n.as_ptr()).collect();
        let mut types: Vec<ffi::duckdb_logical_type> = fields.iter().map(|(_, t)| t.0).collect();
        // SAFETY: the arrays hold `fields.len()` live names and types; DuckDB copies both.
        RawType(unsafe {
            ffi::duckdb_create_struct_type(types.as_mut_ptr(), name_ptrs.as_mut_ptr(), fields.len() as u64)
        })
    }

    /// The type of a table function's result column, as a raw handle.
    pub fn of(t: ColType) -> RawType {
        match t {
            ColType::Varchar => RawType::varchar(),
            ColType::Double => RawType::double(),
            ColType::BigInt => RawType::bigint(),
            ColType::Boolean => RawType::boolean(),
            ColType::VarcharList => RawType::list(&RawType::varchar()),
            ColType::DoubleList => RawType::list(&RawType::double()),
            ColType::Nested(n) => RawType::nested(n),
        }
    }

    fn nested(t: &NestedType) -> RawType {
        match t {
            NestedType::Varchar => RawType::varchar(),
            NestedType::Double => RawType::double(),
            NestedType::List(c) => RawType::list(&RawType::nested(c)),
            NestedType::Struct(fields) => {
                let fields: Vec<(&str, RawType)> =
                    fields.iter().map(|(n, t)| (*n, RawType::nested(t))).collect();
                RawType::structure(&fields)
            }
        }
    }

    /// The handle, valid while `self` lives.
    pub fn ptr(&self) -> ffi::duckdb_logical_type {
        self.0
    }
}
