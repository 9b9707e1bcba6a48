//! Opening bundle files (plain or `.gz`) and iterating their lines.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::BundleError;

/// A bundle file that exists, plain or gzip-compressed.
pub(crate) struct BundleFile {
    /// Name shown in errors: the logical name (`metrics.csv`), with `.gz` when compressed.
    pub name: String,
    pub path: PathBuf,
    gz: bool,
}

impl BundleFile {
    /// Finds `name` or `name.gz` in `dir` (the plain file wins when both exist).
    pub fn find(dir: &Path, name: &str) -> Option<Self> {
        let plain = dir.join(name);
        if plain.is_file() {
            return Some(Self {
                name: name.to_owned(),
                path: plain,
                gz: false,
            });
        }
        let gz = dir.join(format!("{name}.gz"));
        gz.is_file().then(|| Self {
            name: format!("{name}.gz"),
            path: gz,
            gz: true,
        })
    }

    /// A buffered reader over the decompressed bytes.
    pub fn reader(&self) -> Result<Box<dyn BufRead>, BundleError> {
        let f = File::open(&self.path).map_err(|source| BundleError::Io {
            path: self.path.clone(),
            source,
        })?;
        Ok(if self.gz {
            Box::new(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(f)))
        } else {
            Box::new(BufReader::with_capacity(1 << 16, f))
        })
    }

    /// The whole decompressed content as text (invalid UTF-8 replaced, never an error).
    pub fn read_text(&self) -> Result<String, BundleError> {
        let mut bytes = Vec::new();
        self.reader()?
            .read_to_end(&mut bytes)
            .map_err(|source| BundleError::Io {
                path: self.path.clone(),
                source,
            })?;
        Ok(match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    /// Calls `f(line_number, line)` for every non-blank line (1-based numbers, `\r\n`
    /// tolerated). A line that is not UTF-8 is an error naming the line.
    pub fn for_each_line(
        &self,
        mut f: impl FnMut(u64, &str) -> Result<(), BundleError>,
    ) -> Result<(), BundleError> {
        let mut r = self.reader()?;
        let mut buf = Vec::with_capacity(256);
        let mut line_no = 0u64;
        loop {
            buf.clear();
            let n = r.read_until(b'\n', &mut buf).map_err(|source| BundleError::Io {
                path: self.path.clone(),
                source,
            })?;
            if n == 0 {
                return Ok(());
            }
            line_no += 1;
            while matches!(buf.last(), Some(b'\n' | b'\r')) {
                buf.pop();
            }
            let line = std::str::from_utf8(&buf).map_err(|e| {
                BundleError::malformed(
                    &self.name,
                    line_no,
                    "<line>",
                    &String::from_utf8_lossy(&buf),
                    format!("not valid UTF-8 ({e})"),
                )
            })?;
            if line.trim().is_empty() {
                continue;
            }
            f(line_no, line)?;
        }
    }
}
