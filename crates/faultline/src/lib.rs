//! faultline facade (being written).
