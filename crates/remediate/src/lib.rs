//! faultline-remediate (placeholder, being written).
