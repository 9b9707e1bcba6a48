//! # faultline-remediate
//!
//! Turns a ranked hypothesis into a fix an operator can trust: a plan with concrete scripts
//! and their rollbacks ([`Catalog`]), checked before it runs ([`preflight`]), run only when
//! approved ([`approval`]: a typestate, so an unapproved production plan cannot execute),
//! every action signed and audited ([`audit`]), and verified afterwards by a canary judge
//! ([`canary`]).
//!
//! ```
//! use faultline_remediate::{Catalog, PlanContext};
//! let (report, hypothesis) = faultline_remediate::testing::deploy_report("checkout", 0.8);
//! let ctx = PlanContext { namespace: "shop".into(), ..Default::default() };
//! let plan = Catalog::default_catalog().plan(&report, &hypothesis, &ctx).unwrap().expect("a rule matches");
//! assert_eq!(plan.steps[0].action, "kubectl_rollout_undo");
//! assert_eq!(plan.steps[0].rollback, "kubectl rollout undo deployment/checkout -n shop");
//! ```
//!
//! Main types and modules:
//! - [`Catalog`], [`PlanContext`], [`Rule`]: YAML fix rules → [`faultline_core::FixPlan`];
//! - [`actions`], [`http`]: script generation (kubectl, Helm, Terraform, Ansible, SQL, GitOps,
//!   AWX, Terraform Cloud, ServiceNow, Jira, Slack, PagerDuty), [`quote`]: shell quoting;
//! - [`preflight`]: dry run, policies, error-budget gate, drift, [`risk`]; `rego` (feature
//!   `rego`): Rego policies via regorus;
//! - [`approval`]: the typestate `Plan<Draft> → … → Plan<Verified>`;
//! - [`shell`], [`gitops`]: runners (and `http_runner`, feature `http`); [`audit`]: the signed hash-chained log;
//! - [`canary`]: the canary judge; [`RemediateError`]: this crate's error.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod actions;
pub mod catalog;
mod error;
pub mod http;
#[cfg(feature = "http")]
pub mod http_runner;
pub mod quote;
pub mod risk;
pub mod testing;

pub use catalog::{ActionSpec, Catalog, PlanContext, Rule, RuleMatch, DEFAULT_CATALOG_YAML};
pub use error::RemediateError;

pub mod approval;
pub mod audit;
pub mod canary;
pub mod gitops;
pub mod preflight;
#[cfg(feature = "rego")]
pub mod rego;
pub mod shell;
