//! Columnar result blocks and the code that copies them into DuckDB chunks.
//! Table functions produce [`Block`]s; [`Emitter`] hands them to DuckDB in
//! chunks of at most one vector size, in order.

use duckdb::core::{DataChunkHandle, Inserter, LogicalTypeHandle, LogicalTypeId};
use duckdb::ffi;
use duckdb::vtab::arrow::WritableVector;

/// SQL type of a result column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColType {
    Varchar,
    Double,
    BigInt,
    Boolean,
    VarcharList,
    DoubleList,
    /// Any nesting of STRUCTs and LISTs over VARCHAR and DOUBLE (values in [`Column::Nested`]).
    Nested(&'static NestedType),
}

/// The type of a nested result column, written as a constant tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NestedType {
    Varchar,
    Double,
    List(&'static NestedType),
    Struct(&'static [(&'static str, NestedType)]),
}

impl NestedType {
    fn logical(self) -> LogicalTypeHandle {
        match self {
            NestedType::Varchar => LogicalTypeId::Varchar.into(),
            NestedType::Double => LogicalTypeId::Double.into(),
            NestedType::List(child) => LogicalTypeHandle::list(&child.logical()),
            NestedType::Struct(fields) => {
                let children: Vec<(&str, LogicalTypeHandle)> =
                    fields.iter().map(|(n, t)| (*n, t.logical())).collect();
                LogicalTypeHandle::struct_type(&children)
            }
        }
    }
}

/// One value of a nested column; it must match the column's [`NestedType`]
/// (a mismatch is written as NULL, never as a crash).
#[derive(Clone, Debug, PartialEq)]
pub enum Nested {
    Null,
    Text(String),
    Float(f64),
    List(Vec<Nested>),
    /// The fields' values, in the order of the type's fields.
    Struct(Vec<Nested>),
}

impl ColType {
    /// The DuckDB logical type.
    pub fn logical(self) -> LogicalTypeHandle {
        match self {
            ColType::Varchar => LogicalTypeId::Varchar.into(),
            ColType::Double => LogicalTypeId::Double.into(),
            ColType::BigInt => LogicalTypeId::Bigint.into(),
            ColType::Boolean => LogicalTypeId::Boolean.into(),
            ColType::VarcharList => LogicalTypeHandle::list(&LogicalTypeId::Varchar.into()),
            ColType::DoubleList => LogicalTypeHandle::list(&LogicalTypeId::Double.into()),
            ColType::Nested(t) => t.logical(),
        }
    }
}

/// One result column's values for a block of rows.
#[derive(Clone, Debug, PartialEq)]
pub enum Column {
    Text(Vec<Option<String>>),
    Float(Vec<Option<f64>>),
    Int(Vec<Option<i64>>),
    Bool(Vec<Option<bool>>),
    TextList(Vec<Option<Vec<String>>>),
    FloatList(Vec<Option<Vec<f64>>>),
    /// Values of a column declared [`ColType::Nested`] with the same type.
    Nested(&'static NestedType, Vec<Nested>),
}

impl Column {
    fn len(&self) -> usize {
        match self {
            Column::Text(v) => v.len(),
            Column::Float(v) => v.len(),
            Column::Int(v) => v.len(),
            Column::Bool(v) => v.len(),
            Column::TextList(v) => v.len(),
            Column::FloatList(v) => v.len(),
            Column::Nested(_, v) => v.len(),
        }
    }
}

/// A block of result rows: one [`Column`] per declared result column.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Block {
    pub columns: Vec<Column>,
}

impl Block {
    /// Number of rows (all columns have the same length).
    pub fn len(&self) -> usize {
        self.columns.first().map_or(0, Column::len)
    }
}

/// Produces result blocks in order; `Ok(None)` when done.
pub trait BlockSource: Send {
    fn next_block(&mut self) -> Result<Option<Block>, String>;
}

/// Hands a source's rows to DuckDB, a vector's worth per call.
pub struct Emitter {
    source: Box<dyn BlockSource>,
    current: Option<Block>,
    offset: usize,
}

impl Emitter {
    pub fn new(source: Box<dyn BlockSource>) -> Self {
        Emitter { source, current: None, offset: 0 }
    }

    /// Fills `out` with the next rows; sets its length to 0 when all rows were emitted.
    pub fn fill(&mut self, out: &mut DataChunkHandle) -> Result<(), String> {
        loop {
            if let Some(block) = &self.current {
                if self.offset < block.len() {
                    let n = (block.len() - self.offset).min(VECTOR_SIZE);
                    write_rows(block, self.offset, n, out)?;
                    self.offset += n;
                    out.set_len(n);
                    return Ok(());
                }
            }
            match self.source.next_block()? {
                Some(b) => {
                    self.current = Some(b);
                    self.offset = 0;
                }
                None => {
                    out.set_len(0);
                    return Ok(());
                }
            }
        }
    }
}

/// DuckDB's standard vector size: rows per output chunk.
pub const VECTOR_SIZE: usize = 2048;

fn write_rows(block: &Block, from: usize, n: usize, out: &mut DataChunkHandle) -> Result<(), String> {
    for (c, column) in block.columns.iter().enumerate() {
        // SAFETY: the chunk's column `c` was declared with this column's type (the
        // declaration and the block are made from the same constants), and the
        // chunk has room for `n ≤ VECTOR_SIZE` rows.
        unsafe { write_column(out_vector(out, c), column, from, n)? };
    }
    Ok(())
}

/// Writes rows `from..from + n` of `column` into rows `0..n` of `v`.
///
/// # Safety
/// `v` is a live vector of the column's declared type with room for `n` rows
/// (a chunk's column, or a STRUCT's field).
pub unsafe fn write_column(
    v: ffi::duckdb_vector,
    column: &Column,
    from: usize,
    n: usize,
) -> Result<(), String> {
    let mut raw = v;
    match column {
        Column::Text(v) => {
            let mut vec = raw.flat_vector();
            for (i, x) in v[from..from + n].iter().enumerate() {
                match x {
                    Some(s) => vec.insert(i, s.as_str()),
                    None => vec.set_null(i),
                }
            }
        }
        Column::Float(v) => write_primitive(&mut raw, &v[from..from + n]),
        Column::Int(v) => write_primitive(&mut raw, &v[from..from + n]),
        Column::Bool(v) => write_primitive(&mut raw, &v[from..from + n]),
        Column::TextList(v) => {
            let rows = &v[from..from + n];
            let total: usize = rows.iter().flatten().map(Vec::len).sum();
            let mut list = raw.list_vector();
            let child = list.child(total);
            let mut offset = 0;
            for (i, x) in rows.iter().enumerate() {
                match x {
                    Some(items) => {
                        for (j, s) in items.iter().enumerate() {
                            child.insert(offset + j, s.as_str());
                        }
                        list.set_entry(i, offset, items.len());
                        offset += items.len();
                    }
                    None => {
                        list.set_entry(i, offset, 0);
                        list.set_null(i);
                    }
                }
            }
            list.set_len(total);
        }
        Column::FloatList(v) => {
            let rows = &v[from..from + n];
            let flat: Vec<f64> = rows.iter().flatten().flatten().copied().collect();
            let mut list = raw.list_vector();
            let mut child = list.child(flat.len());
            // SAFETY: the child vector holds DOUBLEs and was reserved for `flat.len()` values.
            unsafe { child.copy(&flat) };
            let mut offset = 0;
            for (i, x) in rows.iter().enumerate() {
                let len = x.as_ref().map_or(0, Vec::len);
                list.set_entry(i, offset, len);
                if x.is_none() {
                    list.set_null(i);
                }
                offset += len;
            }
            list.set_len(flat.len());
        }
        Column::Nested(ty, v) => {
            let values: Vec<&Nested> = v[from..from + n].iter().collect();
            // SAFETY: the caller's contract: `v` has the nested type and room for the rows.
            unsafe { write_nested(raw, ty, 0, &values)? };
        }
    }
    Ok(())
}

/// The raw vector of column `c` of `out`.
fn out_vector(out: &DataChunkHandle, c: usize) -> ffi::duckdb_vector {
    // SAFETY: `out` is the live output chunk DuckDB handed to this call, and `c`
    // is one of its declared columns.
    unsafe { ffi::duckdb_data_chunk_get_vector(out.get_ptr(), c as u64) }
}

/// Marks row `row` of `v` NULL.
///
/// # Safety
/// `v` is a live vector with room for `row`.
unsafe fn set_invalid(v: ffi::duckdb_vector, row: usize) {
    // SAFETY: the caller's contract; the validity mask is made writable first.
    unsafe {
        ffi::duckdb_vector_ensure_validity_writable(v);
        ffi::duckdb_validity_set_row_invalid(ffi::duckdb_vector_get_validity(v), row as u64);
    }
}

/// Writes `values` into rows `at..at + values.len()` of `v`, recursively.
///
/// # Safety
/// `v` is a live vector of type `ty.logical()` with room for those rows (for a
/// list's child, reserved by the caller before the call).
/// Fails (before writing the list's rows) when DuckDB cannot grow a list's child vector.
unsafe fn write_nested(
    v: ffi::duckdb_vector,
    ty: &NestedType,
    at: usize,
    values: &[&Nested],
) -> Result<(), String> {
    match ty {
        NestedType::Varchar => {
            for (i, x) in values.iter().enumerate() {
                match x {
                    // SAFETY: `v` is a VARCHAR vector with room for row `at + i`; DuckDB copies the bytes.
                    Nested::Text(s) => unsafe {
                        ffi::duckdb_vector_assign_string_element_len(
                            v,
                            (at + i) as u64,
                            s.as_ptr() as *const std::os::raw::c_char,
                            s.len() as u64,
                        )
                    },
                    // SAFETY: as above.
                    _ => unsafe { set_invalid(v, at + i) },
                }
            }
        }
        NestedType::Double => {
            // SAFETY: a DOUBLE vector's data is an f64 array with room for these rows.
            let data = unsafe { ffi::duckdb_vector_get_data(v) as *mut f64 };
            for (i, x) in values.iter().enumerate() {
                match x {
                    // SAFETY: row `at + i` is within the vector's capacity.
                    Nested::Float(f) => unsafe { data.add(at + i).write(*f) },
                    // SAFETY: as above.
                    _ => unsafe {
                        data.add(at + i).write(0.0);
                        set_invalid(v, at + i);
                    },
                }
            }
        }
        NestedType::Struct(fields) => {
            for (j, (_, fty)) in fields.iter().enumerate() {
                let child_values: Vec<&Nested> = values
                    .iter()
                    .map(|x| match x {
                        Nested::Struct(items) => items.get(j).unwrap_or(&Nested::Null),
                        _ => &Nested::Null,
                    })
                    .collect();
                // SAFETY: a struct's children have the struct's capacity, so the same rows fit.
                unsafe {
                    write_nested(ffi::duckdb_struct_vector_get_child(v, j as u64), fty, at, &child_values)?
                };
            }
            for (i, x) in values.iter().enumerate() {
                if !matches!(x, Nested::Struct(_)) {
                    // SAFETY: row `at + i` is within the vector's capacity.
                    unsafe { set_invalid(v, at + i) };
                }
            }
        }
        NestedType::List(child_ty) => {
            // SAFETY: `v` is a live LIST vector; its size is the child rows already written.
            let start = unsafe { ffi::duckdb_list_vector_get_size(v) } as usize;
            let items: Vec<&Nested> = values
                .iter()
                .flat_map(|x| if let Nested::List(l) = x { l.iter().collect() } else { vec![] })
                .collect();
            // SAFETY: reserving grows the child (and a struct child's children) to hold
            // `start + items.len()` rows; the data pointers are taken after it.
            unsafe {
                if ffi::duckdb_list_vector_reserve(v, (start + items.len()) as u64) != ffi::DuckDBSuccess {
                    return Err(format!("DuckDB could not make room for {} list items", start + items.len()));
                }
                let entries = ffi::duckdb_vector_get_data(v) as *mut ffi::duckdb_list_entry;
                let mut offset = start;
                for (i, x) in values.iter().enumerate() {
                    let len = if let Nested::List(l) = x { l.len() } else { 0 };
                    entries
                        .add(at + i)
                        .write(ffi::duckdb_list_entry { offset: offset as u64, length: len as u64 });
                    offset += len;
                    if !matches!(x, Nested::List(_)) {
                        set_invalid(v, at + i);
                    }
                }
                write_nested(ffi::duckdb_list_vector_get_child(v), child_ty, start, &items)?;
                ffi::duckdb_list_vector_set_size(v, (start + items.len()) as u64);
            }
        }
    }
    Ok(())
}

fn write_primitive<T: Copy + Default>(out: &mut ffi::duckdb_vector, values: &[Option<T>]) {
    let mut vec = out.flat_vector();
    // SAFETY: the column was declared with the SQL type whose physical storage is `T`
    // (DOUBLE = f64, BIGINT = i64, BOOLEAN = bool), and DuckDB sized it for VECTOR_SIZE
    // rows, which bounds `values.len()`.
    let slice = unsafe { vec.as_mut_slice_with_len::<T>(values.len()) };
    let mut nulls = Vec::new();
    for (i, x) in values.iter().enumerate() {
        match x {
            Some(v) => slice[i] = *v,
            None => {
                slice[i] = T::default();
                nulls.push(i);
            }
        }
    }
    for i in nulls {
        vec.set_null(i);
    }
}

/// A source whose blocks are computed by one job on the first call (for
/// results that need the whole input first, such as ranks or routings).
/// The job of a [`Deferred`] source: computes every block at once.
type Job = Box<dyn FnOnce() -> Result<Vec<Block>, String> + Send>;

pub struct Deferred {
    job: Option<Job>,
    blocks: std::vec::IntoIter<Block>,
}

impl Deferred {
    pub fn boxed(job: impl FnOnce() -> Result<Vec<Block>, String> + Send + 'static) -> Box<dyn BlockSource> {
        Box::new(Deferred { job: Some(Box::new(job)), blocks: Vec::new().into_iter() })
    }
}

impl BlockSource for Deferred {
    fn next_block(&mut self) -> Result<Option<Block>, String> {
        if let Some(job) = self.job.take() {
            self.blocks = job()?.into_iter();
        }
        Ok(self.blocks.next())
    }
}

/// The shared body of every table function's `func`: next rows from the emitter.
pub fn emit(
    function: &str,
    emitter: &std::sync::Mutex<Emitter>,
    output: &mut DataChunkHandle,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut emitter = emitter.lock().map_err(|_| {
        format!("{function}: an earlier failure left this scan unusable; run the query again")
    })?;
    emitter.fill(output).map_err(|e| e.into())
}

/// The `init` of a table function whose whole result is computed by one job
/// from its bind data (of type `B`), on the first call.
pub fn deferred<B: Clone + Send + 'static>(
    init: &duckdb::vtab::InitInfo,
    name: &'static str,
    job: fn(B) -> crate::Result<Vec<Block>>,
) -> std::sync::Mutex<Emitter> {
    // SAFETY: DuckDB passes the bind data this function's bind stored (of type B); it outlives init.
    let b = unsafe { &*init.get_bind_data::<B>() }.clone();
    init.set_max_threads(1);
    std::sync::Mutex::new(Emitter::new(Deferred::boxed(move || job(b).map_err(|e| super::fail(name, e)))))
}
