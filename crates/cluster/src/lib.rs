//! faultline-cluster (placeholder, being written).
