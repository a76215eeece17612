//! The reader over an opener: every byte of a dataset comes through the
//! dataset's [`FileOpener`], and globs are only expanded on local paths.

use super::*;
use crate::data::source::RandomAccess;
use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};

const FIXTURE: &str = "tests/fixtures/many_row_groups.parquet";

/// Files held in memory under made-up URLs: nothing on disk has these names,
/// so whatever is read of them came through the opener.
#[derive(Debug, Default)]
struct MemFiles {
    files: HashMap<String, Arc<Vec<u8>>>,
    opens: AtomicUsize,
}

impl MemFiles {
    fn with(files: &[(&str, Vec<u8>)]) -> Arc<MemFiles> {
        let files = files.iter().map(|(k, v)| (k.to_string(), Arc::new(v.clone()))).collect();
        Arc::new(MemFiles { files, opens: AtomicUsize::new(0) })
    }
}

struct MemFile(Arc<Vec<u8>>);

impl RandomAccess for MemFile {
    fn size(&self) -> u64 {
        self.0.len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let rest = self.0.get(offset as usize..).unwrap_or(&[]);
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        Ok(n)
    }
}

impl FileOpener for MemFiles {
    fn open(&self, path: &str) -> io::Result<Box<dyn RandomAccess>> {
        self.opens.fetch_add(1, Ordering::Relaxed);
        let bytes = self.files.get(path).ok_or_else(|| io::Error::other("no such file in memory"))?;
        Ok(Box::new(MemFile(Arc::clone(bytes))))
    }
}

fn read_all(ds: &Dataset) -> Vec<InstanceBatch> {
    let mut out = Vec::new();
    for unit in ds.units() {
        for batch in ds.read_unit(&unit, 64).unwrap() {
            out.push(batch.unwrap());
        }
    }
    out
}

#[test]
fn a_dataset_reads_every_byte_through_its_opener() {
    let mem = MemFiles::with(&[("mem://bucket/pairs.parquet", std::fs::read(FIXTURE).unwrap())]);
    let opener: Arc<dyn FileOpener> = mem.clone();
    let ds =
        Dataset::open_with(opener, "mem://bucket/pairs.parquet", &ColumnOverrides::default(), &[]).unwrap();
    // Opening the dataset opened the file once, for its footer.
    assert_eq!(mem.opens.load(Ordering::Relaxed), 1);
    assert_eq!(ds.paths().collect::<Vec<_>>(), ["mem://bucket/pairs.parquet"]);
    assert_eq!((ds.num_rows(), ds.units().len()), (3000, 30));
    // The same rows as the file read with std::fs, in the same batches.
    let reference = Dataset::open(FIXTURE, &ColumnOverrides::default(), &[]).unwrap();
    let (got, want) = (read_all(&ds), read_all(&reference));
    assert_eq!(got.iter().map(InstanceBatch::len).sum::<usize>(), 3000);
    assert_eq!(got, want);
    // Then each unit opened the file once more.
    assert_eq!(mem.opens.load(Ordering::Relaxed), 1 + 30);
}

#[test]
fn unopenable_and_truncated_files_are_errors_naming_them() {
    let bytes = std::fs::read(FIXTURE).unwrap();
    let mem = MemFiles::with(&[("mem://half.parquet", bytes[..bytes.len() / 2].to_vec())]);
    let open = |path: &str| {
        let opener: Arc<dyn FileOpener> = mem.clone();
        Dataset::open_with(opener, path, &ColumnOverrides::default(), &[]).unwrap_err().to_string()
    };
    assert_eq!(
        open("mem://missing.parquet"),
        "file 'mem://missing.parquet': cannot open: no such file in memory. Hint: a remote file needs DuckDB's \
         httpfs extension (INSTALL httpfs; LOAD httpfs;) and, when it is private, a secret (CREATE SECRET …)"
    );
    let truncated = open("mem://half.parquet");
    assert!(
        truncated.starts_with(
            "file 'mem://half.parquet': not a readable Parquet file (wrong format or truncated)"
        ),
        "{truncated}"
    );
    let local = Dataset::open("tests/fixtures/nope.parquet", &ColumnOverrides::default(), &[]).unwrap_err();
    assert!(local.to_string().contains("cannot open: No such file or directory"), "{local}");
    assert!(local.to_string().contains("relative paths are relative"), "{local}");
}

#[test]
fn globs_expand_on_local_paths_only() {
    assert_eq!(
        expand("tests/fixtures/glob/*.parquet").unwrap(),
        ["tests/fixtures/glob/part-0.parquet", "tests/fixtures/glob/part-1.parquet"]
    );
    assert_eq!(expand("s3://bucket/x.parquet").unwrap(), ["s3://bucket/x.parquet"]);
    // A local path is handed to the opener as given, '~' included.
    assert_eq!(expand("~/x.parquet").unwrap(), ["~/x.parquet"]);
    for remote in ["s3://bucket/*.parquet", "hf://datasets/o/d/part-?.parquet", "https://h/[ab].parquet"] {
        let e = expand(remote).unwrap_err().to_string();
        assert!(e.contains("globs work on local paths only"), "{e}");
        assert!(e.contains("read_parquet"), "{e}");
    }
    assert!(expand("tests/fixtures/glob").unwrap_err().to_string().contains("is a directory"));
}

#[test]
fn url_schemes_are_told_from_local_paths() {
    assert_eq!(url_scheme("s3://bucket/x"), Some("s3"));
    assert_eq!(url_scheme("hf://datasets/x"), Some("hf"));
    assert_eq!(url_scheme("s3a+x.y-z://b"), Some("s3a+x.y-z"));
    for local in ["data/x.parquet", "/abs/x", "~/x", "C:\\data\\x", "dir/a://b", "1s3://b", "://b"] {
        assert_eq!(url_scheme(local), None, "{local}");
    }
}
