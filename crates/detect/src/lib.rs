//! faultline-detect (placeholder, being written).
