//! # faultline-cluster
//!
//! Turns raw log streams into templates, statistics and novelty signals.
//!
//! - [`TemplateMiner`]: the online template miner (Drain-style parse tree over generically
//!   masked tokens) — [`TemplateMiner::add`] returns a [`ClusterId`] per message;
//! - [`mask_message`]: the variable masking on its own;
//! - [`parse_structured`]: message, level, time, error, stack and trace fields of JSON and
//!   logfmt lines under their common names;
//! - [`PatternSet`]: grok-style named patterns (built-in and user) that type parameters;
//! - [`TemplateRates`]: per-window template rates, new templates and spikes over a stream;
//! - [`semantic_groups`]: near-synonymous templates under a host [`Embedder`]
//!   (`faultline_core::ports::Embedder`; a hashed n-gram default exists).
//!
//! [`Embedder`]: faultline_core::ports::Embedder
//!
//! ```
//! use faultline_cluster::{MinerConfig, TemplateMiner};
//! let mut miner = TemplateMiner::new(MinerConfig::default()).unwrap();
//! let id = miner.add("Connection closed by 10.1.2.3 port 22");
//! assert_eq!(miner.add("Connection closed by 10.9.8.7 port 2222"), id);
//! assert_eq!(miner.template(id).unwrap(), "Connection closed by <*> port <*>");
//! ```

pub mod analysis;
pub mod error;
pub mod header;
pub mod masking;
pub mod miner;
pub mod patterns;
pub mod rates;
pub mod semantic;
pub mod structured;
pub mod text_log;

pub use analysis::{analyze_logs, LogAnalysis, LogAnalysisConfig};
pub use error::ClusterError;
pub use header::{split_header, RawHeader};
pub use masking::{mask_message, WILDCARD};
pub use miner::{ClusterId, MinerConfig, MinerSnapshot, Slot, SnapshotCluster, TemplateMiner};
pub use patterns::{NamedPattern, PatternConfig, PatternSet, TypedValue, BUILTIN_PATTERNS};
pub use rates::{RateConfig, RateEvent, RateEventKind, TemplateRates};
pub use semantic::{semantic_groups, SemanticConfig};
pub use structured::{parse_structured, RecordFormat, StructuredFields};
pub use text_log::{parse_header_time, parse_text_log};
