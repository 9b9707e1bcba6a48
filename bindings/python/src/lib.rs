//! Python bindings of faultline (module `faultline._native`).
