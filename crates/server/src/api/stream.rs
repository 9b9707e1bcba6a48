//! `GET /v1/stream`: the live hub as Server-Sent Events (WHATWG HTML Living Standard,
//! "Server-sent events").
//!
//! Each event has an `id:` (monotonically increasing), an `event:` (its type: `anomaly`,
//! `incident.opened`, `incident.analyzed`, `incident.resolved`, `plan.state`) and one line of
//! JSON `data:`. `?types=a,b` keeps only those types (`incident` keeps every `incident.*`).
//! A client that reconnects with `Last-Event-ID` (browsers send it themselves; `?last_event_id=`
//! does the same) first gets the events it missed that are still in the hub's ring. A client
//! that cannot keep up, or whose resume point has left the ring, gets a `lagged` event
//! (`{"skipped": n}`, without an id) and continues. Keep-alive comments every
//! [`KEEP_ALIVE_SECS`] seconds stop proxies from closing an idle stream.
//!
//! Browsers' `EventSource` cannot set headers, so this route (only this one) also accepts the
//! credential as `?access_token=`; the access log writes the route template, never the query.
//!
//! The request must accept `text/event-stream` (or `*/*`): `EventSource` and `curl` do; a
//! plain client that did not ask for an endless stream gets 406 instead of hanging on one.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::Shared;
use crate::live::{EventType, Gap, LiveEvent, Subscription};
use crate::ServerError;

/// Seconds between keep-alive comments on an idle stream.
pub(crate) const KEEP_ALIVE_SECS: u64 = 15;

#[derive(Debug, Deserialize)]
pub(crate) struct StreamQuery {
    #[serde(default)]
    types: Option<String>,
    #[serde(default)]
    last_event_id: Option<String>,
    // `access_token` is read by the authentication middleware (unknown fields are ignored).
}

/// Which event types a client wants (None: all).
#[derive(Debug, Clone, PartialEq)]
struct Filter(Option<Vec<EventType>>);

impl Filter {
    fn parse(types: Option<&str>) -> Result<Self, ServerError> {
        let Some(text) = types.filter(|t| !t.trim().is_empty()) else {
            return Ok(Self(None));
        };
        let mut keep = Vec::new();
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let matched: Vec<EventType> = EventType::ALL
                .into_iter()
                .filter(|t| {
                    t.name() == name
                        || t.name()
                            .strip_prefix(name)
                            .is_some_and(|rest| rest.starts_with('.'))
                })
                .collect();
            if matched.is_empty() {
                let known: Vec<&str> = EventType::ALL.iter().map(|t| t.name()).collect();
                return Err(ServerError::BadRequest(format!(
                    "types: {:?} is not an event type (one of {}, or incident for every incident.*)",
                    name.chars().take(40).collect::<String>(),
                    known.join(", ")
                )));
            }
            keep.extend(matched);
        }
        Ok(Self(Some(keep)))
    }

    fn wants(&self, t: EventType) -> bool {
        self.0.as_ref().is_none_or(|k| k.contains(&t))
    }
}

fn parse_last_id(headers: &HeaderMap, query: Option<&str>) -> Result<Option<u64>, ServerError> {
    let header = headers.get("last-event-id").and_then(|v| v.to_str().ok());
    match header.or(query).map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| {
            ServerError::BadRequest(format!(
                "Last-Event-ID: {:?} is not an event id (a non-negative integer)",
                v.chars().take(40).collect::<String>()
            ))
        }),
    }
}

enum Item {
    Event(Arc<LiveEvent>),
    Lagged(Gap),
}

struct Conn {
    pending: VecDeque<Item>,
    sub: Subscription,
    filter: Filter,
}

fn to_sse(item: &Item) -> Event {
    match item {
        Item::Event(e) => Event::default()
            .id(e.id.to_string())
            .event(e.kind.name())
            .data(e.data.as_str()),
        Item::Lagged(gap) => {
            let data = match gap {
                Gap::Skipped(n) => format!(r#"{{"skipped":{n}}}"#),
                _ => {
                    r#"{"skipped":null,"reason":"the resume point predates this server process"}"#.to_owned()
                }
            };
            Event::default().event("lagged").data(data)
        }
    }
}

/// The next item for the client: pending ones first, then the live channel; None once the
/// server shuts down.
async fn next_item(mut c: Conn) -> Option<(Item, Conn)> {
    loop {
        if let Some(item) = c.pending.pop_front() {
            match &item {
                Item::Event(e) if !c.filter.wants(e.kind) => continue,
                Item::Event(_) => c.sub.guard.sent(),
                Item::Lagged(_) => c.sub.guard.lagged(),
            }
            return Some((item, c));
        }
        if *c.sub.shutdown.borrow() {
            return None;
        }
        tokio::select! {
            r = c.sub.rx.recv() => match r {
                Ok(e) => c.pending.push_back(Item::Event(e)),
                Err(RecvError::Lagged(n)) => c.pending.push_back(Item::Lagged(Gap::Skipped(n))),
                Err(RecvError::Closed) => return None,
            },
            r = c.sub.shutdown.changed() => if r.is_err() || *c.sub.shutdown.borrow() {
                return None;
            },
        }
    }
}

async fn next(c: Conn) -> Option<(Result<Event, Infallible>, Conn)> {
    next_item(c).await.map(|(item, c)| (Ok(to_sse(&item)), c))
}

fn accepts_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get_all(axum::http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|m| m.split(';').next().unwrap_or("").trim())
        .any(|m| {
            m.eq_ignore_ascii_case("text/event-stream") || m == "*/*" || m.eq_ignore_ascii_case("text/*")
        })
}

pub(crate) async fn stream(
    State(st): State<Shared>,
    Query(q): Query<StreamQuery>,
    headers: HeaderMap,
) -> Response {
    if !accepts_event_stream(&headers) {
        return crate::Problem::new(
            406,
            "not acceptable",
            "this route streams text/event-stream without end; send Accept: text/event-stream",
        )
        .into_response();
    }
    let filter = match Filter::parse(q.types.as_deref()) {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let last = match parse_last_id(&headers, q.last_event_id.as_deref()) {
        Ok(l) => l,
        Err(e) => return e.into_response(),
    };
    let sub = st.live.subscribe(last);
    let mut pending: VecDeque<Item> = VecDeque::with_capacity(sub.backlog.len() + 1);
    if sub.gap != Gap::None {
        pending.push_back(Item::Lagged(sub.gap));
    }
    pending.extend(sub.backlog.iter().cloned().map(Item::Event));
    tracing::debug!(resume = ?last, backlog = pending.len(), "stream client connected");
    let conn = Conn { pending, sub, filter };
    let events = futures_util::stream::unfold(conn, next);
    let mut resp = Sse::new(events)
        .keep_alive(
            KeepAlive::new()
                .interval(Duration::from_secs(KEEP_ALIVE_SECS))
                .text("keep-alive"),
        )
        .into_response();
    // Proxies (nginx) buffer responses unless told not to.
    resp.headers_mut()
        .insert("x-accel-buffering", axum::http::HeaderValue::from_static("no"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::LiveHub;

    #[test]
    fn filters_take_names_and_prefix_groups() {
        let f = Filter::parse(Some("anomaly, plan.state")).unwrap();
        assert!(f.wants(EventType::Anomaly) && f.wants(EventType::PlanState));
        assert!(!f.wants(EventType::IncidentOpened));
        let g = Filter::parse(Some("incident")).unwrap();
        assert!(g.wants(EventType::IncidentOpened) && g.wants(EventType::IncidentAnalyzed));
        assert!(!g.wants(EventType::Anomaly));
        assert!(Filter::parse(None).unwrap().wants(EventType::PlanState));
        assert!(Filter::parse(Some("")).unwrap().wants(EventType::Anomaly));
        let e = Filter::parse(Some("anomaly,plans")).unwrap_err().to_string();
        assert!(e.contains("\"plans\""), "{e}");
        assert!(Filter::parse(Some("incid")).is_err());
    }

    fn conn(hub: &LiveHub, last: Option<u64>, types: Option<&str>) -> Conn {
        let sub = hub.subscribe(last);
        let mut pending = VecDeque::new();
        if sub.gap != Gap::None {
            pending.push_back(Item::Lagged(sub.gap));
        }
        pending.extend(sub.backlog.iter().cloned().map(Item::Event));
        Conn {
            pending,
            sub,
            filter: Filter::parse(types).unwrap(),
        }
    }

    fn describe(item: &Item) -> String {
        match item {
            Item::Event(e) => format!("{} {}", e.kind.name(), e.id),
            Item::Lagged(Gap::Skipped(n)) => format!("lagged {n}"),
            Item::Lagged(g) => format!("lagged {g:?}"),
        }
    }

    #[tokio::test]
    async fn a_lagging_client_is_told_and_continues_with_the_newest() {
        let hub = LiveHub::starting_at(1);
        let mut c = conn(&hub, None, Some("plan.state"));
        for n in 0..(crate::live::CHANNEL_EVENTS as u64 + 44) {
            let kind = if n % 2 == 0 {
                EventType::PlanState
            } else {
                EventType::Anomaly
            };
            hub.publish(kind, &n);
        }
        let mut seen = Vec::new();
        for _ in 0..3 {
            let (item, next) = next_item(c).await.unwrap();
            seen.push(describe(&item));
            c = next;
        }
        // 300 events, 256 slots: the 44 oldest are skipped; then the filter keeps the
        // plan.state ones (odd ids) of what is left.
        assert_eq!(seen, ["lagged 44", "plan.state 45", "plan.state 47"]);
        // Shutdown ends the stream at once, even with events still queued.
        hub.shutdown();
        assert!(next_item(c).await.is_none());
    }

    #[tokio::test]
    async fn a_resuming_client_gets_lagged_then_the_ring() {
        let hub = LiveHub::starting_at(1_000);
        hub.publish(EventType::IncidentOpened, &1);
        let (item, c) = next_item(conn(&hub, Some(5), None)).await.unwrap();
        assert_eq!(describe(&item), "lagged Unknown");
        let (item, _) = next_item(c).await.unwrap();
        assert_eq!(describe(&item), "incident.opened 1000");
    }

    #[test]
    fn only_clients_that_accept_event_streams_get_one() {
        let mut h = HeaderMap::new();
        assert!(!accepts_event_stream(&h));
        h.insert("accept", "application/json".parse().unwrap());
        assert!(!accepts_event_stream(&h));
        for ok in [
            "text/event-stream",
            "*/*",
            "application/json, text/event-stream;q=0.9",
        ] {
            h.insert("accept", ok.parse().unwrap());
            assert!(accepts_event_stream(&h), "{ok}");
        }
    }

    #[test]
    fn last_event_id_from_header_or_query() {
        let mut h = HeaderMap::new();
        assert_eq!(parse_last_id(&h, None).unwrap(), None);
        assert_eq!(parse_last_id(&h, Some("7")).unwrap(), Some(7));
        h.insert("last-event-id", "42".parse().unwrap());
        assert_eq!(parse_last_id(&h, Some("7")).unwrap(), Some(42));
        h.insert("last-event-id", "x1".parse().unwrap());
        assert!(parse_last_id(&h, None).is_err());
    }
}
