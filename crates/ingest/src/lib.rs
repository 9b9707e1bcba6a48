//! Parsers of the wire formats observability tools speak (OTLP, Prometheus, Alertmanager, ...) into faultline signals.
