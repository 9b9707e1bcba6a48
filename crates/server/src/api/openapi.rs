//! The OpenAPI 3.1 document, built from [`ROUTES`](super::ROUTES) — the same table the router
//! is built from, so the document cannot list a route the server lacks or miss one it has.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Map, Value};

use super::{Shared, ROUTES};

/// The document.
pub(crate) fn build() -> Value {
    let mut paths = Map::new();
    for r in ROUTES {
        let entry = paths.entry(r.path.to_owned()).or_insert_with(|| json!({}));
        let mut op = json!({
            "summary": r.summary,
            "tags": [r.tag],
            "operationId": operation_id(r.method, r.path),
            "responses": {
                r.ok.to_string(): { "description": "success" },
                "4XX": { "description": "client error", "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } },
                "5XX": { "description": "server error", "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } },
            },
        });
        let params: Vec<Value> = r
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        if !params.is_empty() {
            op["parameters"] = Value::Array(params);
        }
        if r.path.ends_with("/report") {
            if let Some(a) = op["parameters"].as_array_mut() {
                a.push(json!({"name": "format", "in": "query", "required": false, "schema": {"type": "string", "enum": ["json", "md", "html"]}}));
            }
        }
        if !r.request.is_empty() {
            let content: Map<String, Value> = r
                .request
                .iter()
                .map(|m| ((*m).to_owned(), json!({"schema": {}})))
                .collect();
            op["requestBody"] = json!({"required": true, "content": content});
        }
        match r.action {
            None => op["security"] = json!([]),
            Some(a) => op["x-faultline-action"] = json!(format!("{a:?}").to_lowercase()),
        }
        entry[r.method.to_lowercase()] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "faultline server",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Signals in, incidents and fixes out. Errors are RFC 9457 problem documents. POSTs accept an Idempotency-Key header.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "API key or HS256 JWT"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
            },
            "schemas": {
                "Problem": {
                    "type": "object",
                    "required": ["type", "title", "status", "detail"],
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "pointer": {"type": "string", "description": "JSON pointer or `line N` of the offending record"},
                    },
                },
            },
        },
        "security": [{"bearer": []}, {"apiKey": []}],
    })
}

fn operation_id(method: &str, path: &str) -> String {
    let mut s = method.to_lowercase();
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        let seg = seg.trim_start_matches('{').trim_end_matches('}');
        s.push('_');
        s.extend(
            seg.chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }),
        );
    }
    s
}

pub(crate) async fn document(State(_st): State<Shared>) -> Json<Value> {
    Json(build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_once_with_unique_operation_ids() {
        let doc = build();
        let mut ids = std::collections::BTreeSet::new();
        for r in ROUTES {
            let op = &doc["paths"][r.path][r.method.to_lowercase()];
            assert!(op.is_object(), "{} {} missing", r.method, r.path);
            assert!(ids.insert(op["operationId"].as_str().unwrap().to_owned()));
        }
        assert_eq!(doc["openapi"], "3.1.0");
    }
}
