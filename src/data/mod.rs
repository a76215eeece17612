//! Reading pairwise preference datasets from Parquet: one file or a glob,
//! streamed in record batches, with columns mapped to prefroute's fields and
//! labels normalised. The bytes come through a [`FileOpener`] (see
//! [`source`]): `std::fs` by default, DuckDB's file system inside DuckDB.
//!
//! A dataset is split into *units* (one row group of one file). Units can be
//! read independently and in parallel; their order — files sorted by path,
//! row groups in file order — is the dataset's row order.

mod label;
mod mapping;
mod reader;
pub mod source;

pub use label::{Label, LABEL_HINT};
pub use mapping::{ColumnMapping, ColumnOverrides, Field};
pub use reader::DEFAULT_BATCH_ROWS;
pub(crate) use reader::{expand, open_builder};
pub use reader::{
    read_labels_file, Dataset, ExtraColumn, ExtraKind, ExtraRequest, InstanceBatch, Unit, UnitReader,
};
pub use source::{FileOpener, RandomAccess, StdFiles};
