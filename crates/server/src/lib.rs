//! The reference server behind `faultline serve`.
