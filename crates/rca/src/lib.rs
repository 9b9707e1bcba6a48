//! faultline-rca (placeholder, being written).
