//! Where a dataset's bytes come from.
//!
//! The Parquet reader never touches a file system itself. It asks a
//! [`FileOpener`] to open a path and reads the [`RandomAccess`] source it gets
//! back: a size, fixed when the source is opened, and positional reads.
//! [`StdFiles`] opens local files with `std::fs` (the Rust API's default, and
//! what the core's tests use). The DuckDB adapter supplies an opener over the
//! host's own file system, so that a path means what it means to DuckDB: a
//! local file, or an `s3://`, `https://` or `hf://` URL when the host has
//! httpfs loaded, read with the host's secrets and settings.
//!
//! The contract:
//! - `open` may be called from several threads at once: once per file when a
//!   dataset is opened, then once per unit (row group) read. It fails when the
//!   path cannot be opened (missing, unreadable, a URL no file system of the
//!   host handles); the error's text is shown to the user after "cannot
//!   open: ". (DuckDB opens a local directory; its first read fails.)
//! - A source's `read_at` fills `buf` from `offset` and returns the number of
//!   bytes read, fewer than asked only at the end of the file. It may be
//!   called from several threads at once; a source whose handle has a single
//!   position serialises its reads itself.
//! - Dropping a source closes it.
//!
//! [`ChunkSource`] turns a source into what the `parquet` crate reads from.
//! Globs are not an opener's business: the (private) `data::reader` module expands local
//! patterns itself, because DuckDB's C API offers extensions no glob.

use bytes::Bytes;
use parquet::errors::ParquetError;
use parquet::file::reader::{ChunkReader, Length};
use std::fmt;
use std::io::{self, BufReader, Read};
use std::sync::Arc;

/// A file opened for reading at any offset.
pub trait RandomAccess: Send + Sync {
    /// The file's size in bytes, as it was when the source was opened.
    fn size(&self) -> u64;

    /// Reads into `buf` from `offset`; returns the number of bytes read, fewer
    /// than `buf.len()` only at the end of the file.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;

    /// Reads `len` bytes from `offset` into a new buffer, fewer only at the end
    /// of the file. This zero-fills the buffer first; a source that can read
    /// into uninitialised memory overrides it (the column chunks of a scan
    /// come through here, and zeroing them would cost a pass over the data).
    fn read_vec(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0; len];
        let n = self.read_at(offset, &mut buf)?;
        buf.truncate(n);
        Ok(buf)
    }

    /// Reads the whole file.
    fn read_all(&self) -> io::Result<Vec<u8>> {
        let size = usize::try_from(self.size()).map_err(|_| io::Error::other("the file is too large"))?;
        self.read_vec(0, size)
    }
}

/// Opens paths for reading.
pub trait FileOpener: Send + Sync + fmt::Debug {
    /// Opens `path` (a local path or a URL the opener understands).
    fn open(&self, path: &str) -> io::Result<Box<dyn RandomAccess>>;

    /// Reads a whole file as UTF-8 text.
    fn read_to_string(&self, path: &str) -> io::Result<String> {
        let bytes = self.open(path)?.read_all()?;
        String::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}

/// The opener of local files through `std::fs`.
#[derive(Clone, Copy, Debug, Default)]
pub struct StdFiles;

impl StdFiles {
    /// A shared handle on the `std::fs` opener.
    pub fn shared() -> Arc<dyn FileOpener> {
        Arc::new(StdFiles)
    }
}

impl FileOpener for StdFiles {
    fn open(&self, path: &str) -> io::Result<Box<dyn RandomAccess>> {
        let file = std::fs::File::open(path)?;
        let meta = file.metadata()?;
        if meta.is_dir() {
            // Linux opens a directory for reading; only its reads would fail.
            return Err(io::Error::other("is a directory"));
        }
        Ok(Box::new(StdFile { file, size: meta.len() }))
    }
}

struct StdFile {
    file: std::fs::File,
    size: u64,
}

impl RandomAccess for StdFile {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            match positional_read(&self.file, &mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }
}

#[cfg(unix)]
fn positional_read(file: &std::fs::File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn positional_read(file: &std::fs::File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

/// A source as the `parquet` crate reads it: positional reads for column
/// chunks and footers, buffered sequential reads for page headers.
#[derive(Clone)]
pub struct ChunkSource(Arc<dyn RandomAccess>);

impl ChunkSource {
    pub fn new(source: Box<dyn RandomAccess>) -> ChunkSource {
        ChunkSource(Arc::from(source))
    }
}

impl Length for ChunkSource {
    fn len(&self) -> u64 {
        self.0.size()
    }
}

impl ChunkReader for ChunkSource {
    type T = BufReader<Cursor>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(BufReader::new(Cursor { source: Arc::clone(&self.0), position: start }))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let buf = self.0.read_vec(start, length)?;
        let n = buf.len();
        if n != length {
            return Err(ParquetError::EOF(format!(
                "expected {length} bytes at offset {start}, the file has only {n} there"
            )));
        }
        Ok(buf.into())
    }
}

/// A sequential reader over a source, from a position.
pub struct Cursor {
    source: Arc<dyn RandomAccess>,
    position: u64,
}

impl Read for Cursor {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.source.read_at(self.position, buf)?;
        self.position += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn temp_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("prefroute-source-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::File::create(&path).unwrap().write_all(bytes).unwrap();
        path
    }

    #[test]
    fn std_files_read_at_any_offset_and_stop_at_the_end() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        let path = temp_file("bytes.bin", &bytes);
        let source = StdFiles.open(path.to_str().unwrap()).unwrap();
        assert_eq!(source.size(), 10_000);
        let mut buf = [0u8; 100];
        assert_eq!(source.read_at(4321, &mut buf).unwrap(), 100);
        assert_eq!(&buf[..], &bytes[4321..4421]);
        // Short only at the end; nothing past it.
        assert_eq!(source.read_at(9_950, &mut buf).unwrap(), 50);
        assert_eq!(&buf[..50], &bytes[9_950..]);
        assert_eq!(source.read_at(10_000, &mut buf).unwrap(), 0);
        assert_eq!(source.read_all().unwrap(), bytes);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn std_files_refuse_missing_files_and_directories() {
        let missing = StdFiles.open("/nonexistent/prefroute/x.parquet").err().unwrap();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
        let dir = std::env::temp_dir();
        let e = StdFiles.open(dir.to_str().unwrap()).err().unwrap();
        assert_eq!(e.to_string(), "is a directory");
    }

    #[test]
    fn chunk_source_serves_ranges_and_sequential_reads() {
        let bytes: Vec<u8> = (0..50_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let path = temp_file("chunks.bin", &bytes);
        let source = ChunkSource::new(StdFiles.open(path.to_str().unwrap()).unwrap());
        assert_eq!(source.len(), 50_000);
        assert_eq!(&source.get_bytes(12_345, 1_000).unwrap()[..], &bytes[12_345..13_345]);
        // Two readers from different offsets do not disturb each other.
        let (mut a, mut b) = (source.get_read(10).unwrap(), source.get_read(40_000).unwrap());
        let (mut x, mut y) = (vec![0u8; 20_000], vec![0u8; 5_000]);
        a.read_exact(&mut x[..9_000]).unwrap();
        b.read_exact(&mut y).unwrap();
        a.read_exact(&mut x[9_000..]).unwrap();
        assert_eq!(x, &bytes[10..20_010]);
        assert_eq!(y, &bytes[40_000..45_000]);
        let mut rest = Vec::new();
        source.get_read(49_990).unwrap().read_to_end(&mut rest).unwrap();
        assert_eq!(rest, &bytes[49_990..]);
        // A range past the end is an EOF error, as for a `File`.
        let e = source.get_bytes(49_000, 2_000).unwrap_err();
        assert!(matches!(e, ParquetError::EOF(_)), "{e}");
        std::fs::remove_file(path).unwrap();
    }
}
