//! # faultline-detect
//!
//! Metric anomaly detection for faultline (placeholder docs, being written).

pub mod batch;
pub mod error;
mod novelty;
pub mod online;
pub mod stats;
pub mod stl;
pub mod stream;

pub use batch::{detect_series, DetectConfig, Detector, SegmentDetector};
pub use error::DetectError;
pub use online::{OnlineDetector, RobustZ, RobustZConfig, RollingZ, RollingZConfig};
pub use stl::{stl, Decomposition, StlParams};
pub use stream::{score_stream, StreamConfig, StreamDetector};
