use std::path::PathBuf;

/// Why a bundle could not be read. Every data error names the file, the 1-based line, the
/// field and the offending value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The bundle path is not a directory.
    #[error("{path}: not a bundle directory")]
    NotADirectory {
        /// The path given.
        path: PathBuf,
    },
    /// `incident.json` (or `incident.json.gz`) is missing.
    #[error("{path}: incident.json is missing (it is the one required file of a bundle)")]
    MissingIncident {
        /// The bundle directory.
        path: PathBuf,
    },
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A record or value is malformed.
    #[error("{file}:{line}: field `{field}` has invalid value {value:?}: {reason}")]
    Malformed {
        /// File name relative to the bundle.
        file: String,
        /// 1-based line number (of the CSV row or JSONL line).
        line: u64,
        /// The field (column or JSON key; `<line>` for the whole line).
        field: String,
        /// The offending value (truncated to 200 characters).
        value: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl BundleError {
    pub(crate) fn malformed(
        file: &str,
        line: u64,
        field: &str,
        value: &str,
        reason: impl Into<String>,
    ) -> Self {
        let mut v: String = value.chars().take(200).collect();
        if v.len() < value.len() {
            v.push('…');
        }
        BundleError::Malformed {
            file: file.to_owned(),
            line,
            field: field.to_owned(),
            value: v,
            reason: reason.into(),
        }
    }
}
