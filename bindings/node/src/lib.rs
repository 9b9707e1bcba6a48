//! Node bindings of faultline (`@faultline/node`).
