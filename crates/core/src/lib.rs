//! # faultline-core
//!
//! The shared vocabulary of faultline: the data model every stage reads and writes, the
//! adapter traits (ports) through which a host plugs in its own storage, LLM, runners,
//! policy, notifier, audit log and clock, and the local defaults that make the library work
//! with zero setup.
//!
//! Main types:
//! - signals: [`Series`] / [`SeriesKey`], [`LogRecord`], [`ChangeEvent`], [`Span`], [`Alert`],
//!   [`Topology`], all bundled in a [`SignalSet`];
//! - findings: [`Anomaly`], [`LogTemplate`] / [`TemplateSignal`], [`Evidence`],
//!   [`Hypothesis`] (whose support is a [`NonEmpty`] list of evidence ids), [`IncidentReport`];
//! - remediation: [`FixPlan`], [`Step`], [`PlanState`], [`Approval`], [`Execution`],
//!   [`Verdict`], [`AuditRecord`];
//! - time: [`Timestamp`] (i64 nanoseconds, UTC) and [`DurationNs`];
//! - [`ports`]: the adapter traits and defaults.
//!
//! ```
//! use faultline_core::{Evidence, EvidenceKind, EvidenceRef, Hypothesis, Cause, HypothesisId, NonEmpty, ServiceId, Timestamp};
//!
//! let ev = Evidence::new(
//!     EvidenceKind::Change,
//!     ServiceId::new("checkout"),
//!     "checkout 2.4.1 deployed 2 min before onset".into(),
//!     0.9,
//!     EvidenceRef::Change { ts: Timestamp::from_secs(1_700_000_000), kind: "deploy".into(), version: Some("2.4.1".into()), source: None },
//! );
//! // A hypothesis needs at least one piece of supporting evidence: `support` is NonEmpty.
//! let h = Hypothesis {
//!     id: HypothesisId::derive(&["checkout", "change"]),
//!     rank: 1,
//!     service: ServiceId::new("checkout"),
//!     cause: Cause::Unknown,
//!     statement: "checkout's deploy caused the errors".into(),
//!     confidence: 0.8,
//!     support: NonEmpty::new(ev.id.clone(), vec![]),
//!     counter: vec![],
//!     why_not: None,
//! };
//! assert_eq!(h.support.first(), &ev.id);
//! ```

pub mod anomaly;
pub mod error;
pub mod evidence;
pub mod hypothesis;
pub mod id;
pub mod incident;
pub mod labels;
pub mod nonempty;
pub mod ports;
pub mod remediation;
pub mod report;
pub mod signal;
pub mod template;
pub mod time;
pub mod topology;

pub use anomaly::{Anomaly, AnomalyKind, AnomalySeverity, Direction, Expected};
pub use error::{CoreError, Result};
pub use evidence::{Evidence, EvidenceKind, EvidenceRef};
pub use hypothesis::{Cause, Hypothesis};
pub use id::{AlertGroupId, AnomalyId, EvidenceId, HypothesisId, IncidentId, PlanId, TemplateId};
pub use incident::{Incident, IncidentStatus, TimeWindow};
pub use labels::{Labels, ServiceId};
pub use nonempty::NonEmpty;
pub use remediation::{Approval, AuditRecord, Execution, FixPlan, PlanState, Step, Verdict, VerdictOutcome};
pub use report::{AlertGroup, BlastRadius, IncidentReport, TimelineEntry, REPORT_VERSION};
pub use signal::{
    Alert, AlertStatus, ChangeEvent, ChangeKind, LogRecord, RaggedSeries, Series, SeriesKey, Severity,
    SignalSet, SourceRef, Span, SpanStatus,
};
pub use template::{LogTemplate, TemplateSignal, TemplateSignalKind};
pub use time::{DurationNs, Timestamp, TimestampError};
pub use topology::{Edge, Topology};
