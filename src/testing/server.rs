//! Accept loop, the HTTP upgrade (protocol.md §3), URL routing (§1) and query validation (§2).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};

use super::frames::error_page;
use super::message_id;
use super::pattern::TopicPattern;
use super::producer::attach_producer;
use super::session;
use super::state::{Conn, ConsumerOpts, PatternSub, Shared, State, SubSpec, SubType};
use super::types::{Endpoint, Handshake};

/// A rejected upgrade: status and body.
type Reject = (u16, String);

/// Accepts connections until shutdown, then drops every open connection.
pub(crate) async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok((tcp, _)) => {
                    let _ = tcp.set_nodelay(true);
                    tokio::spawn(handle_conn(shared.clone(), tcp));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            _ = async { let _ = shutdown.wait_for(|stop| *stop).await; } => break,
        }
    }
    shared.with(|st| {
        st.accept_stopped = true;
        st.drop_all();
    });
}

async fn handle_conn(shared: Arc<Shared>, tcp: TcpStream) {
    let id = shared.with(|st| {
        st.next_conn += 1;
        st.next_conn
    });
    if let Some(d) = shared.read(|st| st.faults.delay) {
        tokio::time::sleep(d).await;
    }
    // A frozen server does not answer upgrades either.
    shared
        .wait_until(|st| !st.frozen || st.accept_stopped)
        .await;
    let (kill_tx, kill_rx) = watch::channel(false);
    let mut accepted: Option<Endpoint> = None;
    // The signature is tungstenite's `Callback`.
    #[allow(clippy::result_large_err)]
    let callback = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        match shared.with(|st| decide(st, id, req, kill_tx.clone())) {
            Ok(endpoint) => {
                accepted = Some(endpoint);
                Ok(resp)
            }
            Err((status, body)) => {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let mut r = ErrorResponse::new(Some(body.clone()));
                *r.status_mut() = status;
                let h = r.headers_mut();
                h.insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("text/html;charset=utf-8"),
                );
                h.insert(
                    http::header::CONTENT_LENGTH,
                    http::HeaderValue::from(body.len()),
                );
                h.insert(
                    http::header::CONNECTION,
                    http::HeaderValue::from_static("close"),
                );
                Err(r)
            }
        }
    };
    match tokio_tungstenite::accept_hdr_async(tcp, callback).await {
        Ok(ws) => {
            if let Some(endpoint) = accepted {
                session::run(shared, id, ws, kill_rx, endpoint).await;
            }
        }
        Err(_) => {
            if accepted.is_some() {
                shared.with(|st| st.remove_conn(id, false));
            }
        }
    }
}

/// Records the request and decides its fate; on success the connection is registered.
fn decide(
    st: &mut State,
    id: u64,
    req: &Request,
    kill: watch::Sender<bool>,
) -> Result<Endpoint, Reject> {
    let path = req.uri().path().to_string();
    let raw_query = req.uri().query().map(str::to_string);
    let mut query = BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(raw_query.as_deref().unwrap_or("").as_bytes()) {
        query
            .entry(k.into_owned())
            .or_insert_with(|| v.into_owned()); // first value wins (§1.2)
    }
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let route = parse_route(&path);
    let mut hs = Handshake {
        connection: id,
        path,
        endpoint: route.endpoint,
        topic: route.topic.clone(),
        subscription: route.subscription.clone(),
        query,
        raw_query,
        headers,
        status: 101,
    };
    let result = check(st, id, req, &route, &hs, kill);
    if let Err((status, _)) = &result {
        hs.status = *status;
    }
    st.handshakes.push(hs);
    result.map(|()| route.endpoint)
}

fn page(status: u16, uri: &str, msg: &str) -> Reject {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, error_page(code, uri, msg))
}

fn check(
    st: &mut State,
    id: u64,
    req: &Request,
    route: &Route,
    hs: &Handshake,
    kill: watch::Sender<bool>,
) -> Result<(), Reject> {
    let uri = hs.path.as_str();
    if st.accept_stopped {
        return Err(page(503, uri, "Service Unavailable"));
    }
    if let Some((status, body, count)) = &mut st.faults.fail {
        let out = (*status, body.clone());
        *count -= 1;
        if *count == 0 {
            st.faults.fail = None;
        }
        return Err(out);
    }
    // The 8x8 gateway sits in front of Pulsar: X-API-Key header or lowercase `x-api-key` query.
    if let Some(key) = &st.faults.api_key {
        let given = req
            .headers()
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .or(hs.query.get("x-api-key").map(String::as_str));
        if given != Some(key.as_str()) {
            return Err(page(401, uri, "Unauthorized"));
        }
    }
    let mut multi = None;
    let (topic, endpoint) = match (route.endpoint, &route.topic) {
        (Endpoint::Unknown, _) => return Err(page(404, uri, "Not Found")),
        (Endpoint::MultiTopicConsumer, _) => {
            let (target, label) = multi_target(&hs.query).map_err(|m| page(500, uri, &m))?;
            multi = Some(target);
            (label, Endpoint::MultiTopicConsumer)
        }
        (_, None) => {
            return Err(page(
                500,
                uri,
                route.error.as_deref().unwrap_or("Server Error"),
            ))
        }
        (e, Some(t)) => (t.clone(), e),
    };
    // §3.1: Authorization header, else the `token` query parameter with `Bearer ` added.
    if let Some(token) = &st.faults.token {
        let ok = match req.headers().get(http::header::AUTHORIZATION) {
            Some(h) => h.to_str().ok() == Some(format!("Bearer {token}").as_str()),
            None => hs
                .query
                .get("token")
                .is_some_and(|t| t.strip_prefix("Bearer ").unwrap_or(t) == token),
        };
        if !ok {
            return Err(page(401, uri, "Failed to authenticate"));
        }
    }
    // A v3 consumer needs the permission on each listed topic, or on the pattern as a topic
    // name (§3.2).
    let checked: Vec<&String> = match &multi {
        Some(MultiTarget::Topics(list)) => list.iter().collect(),
        _ => vec![&topic],
    };
    if checked.iter().any(|t| st.faults.forbidden.contains(*t)) {
        return Err(page(403, uri, "Not authorized"));
    }
    let exists = !st.faults.must_exist || st.topics.contains_key(&topic);
    let q = &hs.query;
    match endpoint {
        Endpoint::Reader => {
            let (max_pending, start) = reader_params(q).map_err(|m| page(500, uri, &m))?;
            if !exists {
                let m = format!("Failed to create reader: Topic {topic} does not exist");
                return Err(page(500, uri, &m));
            }
            let t = st.topic_mut(&topic);
            let cursor = match start {
                Start::Earliest => 0,
                Start::Latest => t.records.len(),
                Start::After(pos) => t.records.partition_point(|r| (r.ledger, r.entry) <= pos),
            };
            let mut conn = Conn::new(endpoint, topic, kill);
            conn.max_pending = max_pending;
            conn.cursor = cursor;
            st.conns.insert(id, conn);
        }
        Endpoint::Producer => {
            producer_params(q)
                .map_err(|m| page(400, uri, &format!("Invalid query params: {m}")))?;
            if !exists {
                let m = format!("Failed to create producer: Topic {topic} does not exist");
                return Err(page(404, uri, &m));
            }
            let name = q.get("producerName").cloned();
            attach_producer(st, id, topic, name, kill).map_err(|m| page(409, uri, &m))?;
        }
        Endpoint::MultiTopicConsumer => {
            let Some(sub) = route.subscription.clone().filter(|s| !s.is_empty()) else {
                return Err(page(
                    400,
                    uri,
                    "Invalid query params: Empty subscription name",
                ));
            };
            let invalid = |m: String| page(400, uri, &format!("Invalid query params: {m}"));
            let p = consumer_params(q, &topic, &sub).map_err(invalid)?;
            let (topics, pattern) = match multi {
                Some(MultiTarget::Pattern(source)) => {
                    let pattern = TopicPattern::parse(&source, &topic).map_err(invalid)?;
                    let covered = st
                        .topics
                        .keys()
                        .filter(|t| pattern.covers(t))
                        .cloned()
                        .collect();
                    (covered, Some(pattern))
                }
                Some(MultiTarget::Topics(list)) => {
                    if list.iter().any(String::is_empty) {
                        return Err(invalid("topicNames cannot have blank topic".into()));
                    }
                    if let Some(missing) = list
                        .iter()
                        .find(|t| st.faults.must_exist && !st.topics.contains_key(*t))
                    {
                        let m =
                            format!("Failed to create consumer: Topic {missing} does not exist");
                        return Err(page(404, uri, &m));
                    }
                    (list, None)
                }
                None => (Vec::new(), None),
            };
            attach_multi(st, id, topic, topics, pattern, sub, p, kill)
                .map_err(|m| page(409, uri, &m))?;
        }
        _ => {
            let Some(sub) = route.subscription.clone().filter(|s| !s.is_empty()) else {
                return Err(page(
                    400,
                    uri,
                    "Invalid query params: Empty subscription name",
                ));
            };
            let p = consumer_params(q, &topic, &sub)
                .map_err(|m| page(400, uri, &format!("Invalid query params: {m}")))?;
            if !exists {
                let m = format!("Failed to create consumer: Topic {topic} does not exist");
                return Err(page(404, uri, &m));
            }
            attach_consumer(st, id, topic, sub, p, kill).map_err(|m| page(409, uri, &m))?;
        }
    }
    Ok(())
}

fn attach_consumer(
    st: &mut State,
    id: u64,
    topic: String,
    sub_name: String,
    p: ConsumerParams,
    kill: watch::Sender<bool>,
) -> Result<(), String> {
    st.sub_conflict(&topic, &sub_name, p.spec)?;
    st.join_sub(&topic, &sub_name, p.spec, id);
    let mut conn = Conn::new(Endpoint::Consumer, topic, kill);
    conn.sub = Some(sub_name);
    conn.max_pending = if p.pull { 0 } else { p.max_pending };
    conn.pull = p.pull;
    conn.opts = p.opts;
    st.conns.insert(id, conn);
    Ok(())
}

/// A v3 consumer (§1.2): the same subscription on every topic in `topics`, all or none.
#[allow(clippy::too_many_arguments)]
fn attach_multi(
    st: &mut State,
    id: u64,
    label: String,
    mut topics: Vec<String>,
    pattern: Option<TopicPattern>,
    sub_name: String,
    p: ConsumerParams,
    kill: watch::Sender<bool>,
) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    topics.retain(|t| seen.insert(t.clone()));
    let conflict = topics
        .iter()
        .find_map(|t| st.sub_conflict(t, &sub_name, p.spec).err());
    if let Some(conflict) = conflict {
        // The proxy's Java consumer subscribes to every topic and gives up on the first refusal:
        // the subscription stays created on the topics that accepted it (checked on 4.0.7).
        for t in &topics {
            if st.sub_conflict(t, &sub_name, p.spec).is_ok() {
                st.join_sub(t, &sub_name, p.spec, id);
                leave_sub(st, t, &sub_name, id);
            }
        }
        return Err(conflict);
    }
    for t in &topics {
        st.join_sub(t, &sub_name, p.spec, id);
    }
    let mut conn = Conn::new(Endpoint::MultiTopicConsumer, label, kill);
    conn.topics = topics;
    conn.pattern = pattern.map(|pattern| PatternSub {
        pattern,
        spec: p.spec,
    });
    conn.sub = Some(sub_name);
    conn.max_pending = if p.pull { 0 } else { p.max_pending };
    conn.pull = p.pull;
    conn.opts = p.opts;
    st.conns.insert(id, conn);
    Ok(())
}

/// Detaches connection `id` from subscription `sub` of `topic` (a non-durable subscription
/// left without consumers goes away, as when a consumer leaves).
fn leave_sub(st: &mut State, topic: &str, sub: &str, id: u64) {
    if let Some(t) = st.topics.get_mut(topic) {
        if let Some(s) = t.subs.get_mut(sub) {
            s.consumers.retain(|c| *c != id);
            if !s.durable && s.consumers.is_empty() {
                t.subs.remove(sub);
            }
        }
    }
}

/// What a v3 consumer subscribes to.
enum MultiTarget {
    /// `topics=a,b`: full topic names, in order (an empty string for a blank name).
    Topics(Vec<String>),
    /// `topicsPattern=<regex>`, as given.
    Pattern(String),
}

/// `TopicName.get` of a v3 name: an empty one is refused.
fn v3_topic_name(name: &str) -> Result<String, String> {
    if name.is_empty() {
        return Err(
            "java.lang.IllegalArgumentException: Invalid short topic name '', it should \
                    be in the format of <tenant>/<namespace>/<topic> or <topic>"
                .into(),
        );
    }
    Ok(full_topic_name(name))
}

/// The v3 handler's `extractTopicName` (§1.2): exactly one of `topics` and `topicsPattern`.
/// Returns the target and the topic name the proxy labels the consumer with (the first topic, or
/// the pattern as a topic name). A failure escapes the handler's constructor: 500, with these
/// messages on Pulsar 4.0.7.
fn multi_target(q: &BTreeMap<String, String>) -> Result<(MultiTarget, String), String> {
    match (q.get("topics"), q.get("topicsPattern")) {
        (None, None) => {
            Err("java.lang.IllegalArgumentException: Should set topics or topicsPattern".into())
        }
        (Some(_), Some(_)) => Err(
            "java.lang.IllegalArgumentException: Topics must be null when use topicsPattern".into(),
        ),
        (None, Some(pattern)) => {
            let label = v3_topic_name(pattern)?;
            Ok((MultiTarget::Pattern(pattern.clone()), label))
        }
        (Some(list), None) => {
            let names: Vec<&str> = list.split(',').collect();
            let label = v3_topic_name(names[0])?;
            // The Java builder trims each name; a blank one is refused later (400).
            let topics = names
                .iter()
                .map(|n| match n.trim() {
                    "" => String::new(),
                    n => full_topic_name(n),
                })
                .collect();
            Ok((MultiTarget::Topics(topics), label))
        }
    }
}

/// The routed path.
pub(crate) struct Route {
    endpoint: Endpoint,
    topic: Option<String>,
    subscription: Option<String>,
    error: Option<String>,
}

/// `Codec.decode` = `URLDecoder.decode` (§1.2): `+` is a space; a bad `%` escape fails.
fn decode_segment(seg: &str) -> Option<String> {
    let b = seg.as_bytes();
    for (i, c) in b.iter().enumerate() {
        if *c == b'%'
            && !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        {
            return None;
        }
    }
    let escaped = seg.replace('&', "%26").replace('=', "%3D");
    url::form_urlencoded::parse(format!("k={escaped}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
}

/// Routes a raw path (§1.1, §1.2).
pub(crate) fn parse_route(path: &str) -> Route {
    let mut parts: Vec<&str> = path.split('/').collect();
    while parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop(); // Java's String.split drops trailing empty strings
    }
    let mut route = Route {
        endpoint: Endpoint::Unknown,
        topic: None,
        subscription: None,
        error: None,
    };
    let (endpoint, v1) = match (parts.get(1), parts.get(2), parts.get(3)) {
        (Some(&"ws"), Some(&"v2"), Some(&"reader")) => (Endpoint::Reader, false),
        (Some(&"ws"), Some(&"v2"), Some(&"consumer")) => (Endpoint::Consumer, false),
        (Some(&"ws"), Some(&"v2"), Some(&"producer")) => (Endpoint::Producer, false),
        (Some(&"ws"), Some(&"v3"), Some(&"consumer")) => {
            route.endpoint = Endpoint::MultiTopicConsumer;
            route.subscription = parts.get(4).and_then(|s| decode_segment(s));
            return route;
        }
        (Some(&"ws"), Some(&"reader"), _) => (Endpoint::Reader, true),
        (Some(&"ws"), Some(&"consumer"), _) => (Endpoint::Consumer, true),
        (Some(&"ws"), Some(&"producer"), _) => (Endpoint::Producer, true),
        _ => return route,
    };
    route.endpoint = endpoint;
    if parts.len() < 8 {
        route.error = Some(format!("Invalid topic name format: {path}"));
        return route;
    }
    let (domain, ns) = if v1 {
        (parts[3], parts[4..7].join("/"))
    } else {
        (parts[4], parts[5..7].join("/"))
    };
    if domain != "persistent" && domain != "non-persistent" {
        route.error = Some(format!("Invalid topic domain: {domain}"));
        return route;
    }
    let name_parts: Vec<&str> = if endpoint == Endpoint::Consumer {
        vec![parts[7]]
    } else {
        parts[7..]
            .iter()
            .copied()
            .filter(|s| !s.is_empty())
            .collect()
    };
    let mut decoded = Vec::new();
    for seg in name_parts {
        match decode_segment(seg) {
            Some(s) => decoded.push(s),
            None => {
                route.error = Some(format!(
                    "URLDecoder: Illegal hex characters in escape pattern: {seg}"
                ));
                return route;
            }
        }
    }
    route.topic = Some(format!("{domain}://{ns}/{}", decoded.join("/")));
    if endpoint == Endpoint::Consumer {
        route.subscription = if parts.len() == 9 {
            Some(decode_segment(parts[8]).unwrap_or_default())
        } else {
            Some(String::new())
        };
    }
    route
}

fn parse_int(q: &BTreeMap<String, String>, key: &str) -> Result<Option<i64>, String> {
    match q.get(key) {
        None => Ok(None),
        Some(v) => v
            .parse::<i32>()
            .map(|n| Some(i64::from(n)))
            .map_err(|_| format!("For input string: \"{v}\"")),
    }
}

fn window(rqs: Option<i64>) -> i64 {
    match rqs {
        None => 1000,
        Some(0) => 1,
        Some(n) => n.min(1000),
    }
}

enum Start {
    Earliest,
    Latest,
    After(message_id::Position),
}

/// Reader parameters (§2.2); every failure is a 500.
fn reader_params(q: &BTreeMap<String, String>) -> Result<(i64, Start), String> {
    let rqs = parse_int(q, "receiverQueueSize")?;
    if rqs.is_some_and(|n| n < 0) {
        return Err("Failed to create reader: receiverQueueSize needs to be >= 0".into());
    }
    let start = match q.get("messageId").map(|s| s.trim()) {
        None | Some("") | Some("latest") => Start::Latest,
        Some("earliest") => Start::Earliest,
        Some(s) => Start::After(
            message_id::decode(s).map_err(|e| format!("Failed to create reader: {e}"))?,
        ),
    };
    Ok((window(rqs), start))
}

fn producer_params(q: &BTreeMap<String, String>) -> Result<(), String> {
    let enums: [(&str, &[&str]); 3] = [
        (
            "messageRoutingMode",
            &["SinglePartition", "RoundRobinPartition", "CustomPartition"],
        ),
        (
            "compressionType",
            &["NONE", "LZ4", "ZLIB", "ZSTD", "SNAPPY"],
        ),
        ("hashingScheme", &["JavaStringHash", "Murmur3_32Hash"]),
    ];
    for (key, allowed) in enums {
        if let Some(v) = q.get(key).filter(|v| !allowed.contains(&v.as_str())) {
            return Err(format!("Invalid {key} {v}"));
        }
    }
    for key in [
        "sendTimeoutMillis",
        "batchingMaxMessages",
        "maxPendingMessages",
        "batchingMaxPublishDelay",
    ] {
        parse_int(q, key)?;
    }
    if let Some(v) = q.get("initialSequenceId") {
        v.parse::<i64>()
            .map_err(|_| format!("For input string: \"{v}\""))?;
    }
    Ok(())
}

/// Parsed consumer parameters.
struct ConsumerParams {
    spec: SubSpec,
    max_pending: i64,
    pull: bool,
    opts: ConsumerOpts,
}

/// `TopicName.get`: a short name lands in `public/default`.
fn full_topic_name(name: &str) -> String {
    if name.contains("://") {
        name.to_string()
    } else if name.matches('/').count() >= 2 {
        format!("persistent://{name}")
    } else {
        format!("persistent://public/default/{name}")
    }
}

/// Consumer parameters (§2.1); every failure is a 400.
fn consumer_params(
    q: &BTreeMap<String, String>,
    topic: &str,
    sub: &str,
) -> Result<ConsumerParams, String> {
    let get = |k: &str| q.get(k).map(String::as_str);
    let sub_type = match get("subscriptionType") {
        None | Some("Exclusive") => SubType::Exclusive,
        Some("Shared") => SubType::Shared,
        Some("Failover") => SubType::Failover,
        Some("Key_Shared") => SubType::KeyShared,
        Some(x) => return Err(format!("Invalid subscriptionType {x}")),
    };
    let durable = match get("subscriptionMode") {
        None | Some("Durable") => true,
        Some("NonDurable") => false,
        Some(x) => return Err(format!("Invalid subscriptionMode {x}")),
    };
    let earliest = match get("subscriptionInitialPosition") {
        None | Some("Latest") => false,
        Some("Earliest") => true,
        Some(x) => return Err(format!("Invalid subscriptionInitialPosition {x}")),
    };
    let rqs = parse_int(q, "receiverQueueSize")?;
    if rqs.is_some_and(|n| n < 0) {
        return Err("receiverQueueSize needs to be >= 0".into());
    }
    let ack_timeout = match get("ackTimeoutMillis") {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(0) => None,
            Ok(ms) if ms >= 1000 => Some(Duration::from_millis(ms.unsigned_abs())),
            Ok(_) => return Err("Ack timeout should be greater than 1000 ms".into()),
            Err(_) => return Err(format!("For input string: \"{v}\"")),
        },
    };
    if parse_int(q, "priorityLevel")?.is_some_and(|n| n < 0) {
        return Err("priorityLevel needs to be >= 0".into());
    }
    let nack_delay = parse_int(q, "negativeAckRedeliveryDelay")?.unwrap_or(60_000);
    if nack_delay < 0 {
        return Err("negativeAckRedeliveryDelay needs to be >= 0".into());
    }
    let max_redeliver = match (
        parse_int(q, "maxRedeliverCount")?,
        q.contains_key("deadLetterTopic"),
    ) {
        (None, false) => None,
        (Some(n), _) if n > 0 => Some(n as u32),
        _ => return Err("maxRedeliverCount must be > 0".into()),
    };
    let dlq = match get("deadLetterTopic") {
        Some(d) if !d.trim().is_empty() => full_topic_name(d.trim()),
        Some(_) => return Err("Invalid deadLetterTopic".into()),
        None => format!("{topic}-{sub}-DLQ"),
    };
    Ok(ConsumerParams {
        spec: SubSpec {
            sub_type,
            durable,
            earliest,
        },
        max_pending: window(rqs),
        pull: get("pullMode").is_some_and(|v| v.eq_ignore_ascii_case("true")),
        opts: ConsumerOpts {
            ack_timeout,
            nack_delay: Duration::from_millis(nack_delay.unsigned_abs()),
            max_redeliver,
            dlq,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let r = parse_route("/ws/v2/consumer/persistent/t/ns/my%20topic/sub+1");
        assert_eq!(r.endpoint, Endpoint::Consumer);
        assert_eq!(r.topic.as_deref(), Some("persistent://t/ns/my topic"));
        assert_eq!(r.subscription.as_deref(), Some("sub 1"));
        let r = parse_route("/ws/v2/reader/persistent/t/ns/a/b/");
        assert_eq!(r.topic.as_deref(), Some("persistent://t/ns/a/b"));
        let r = parse_route("/ws/v2/consumer/persistent/t/ns/topic/");
        assert_eq!(r.subscription.as_deref(), Some(""));
        let r = parse_route("/ws/v2/reader/persistent/t/ns");
        assert!(r.topic.is_none() && r.error.is_some());
        let r = parse_route("/ws/v2/reader/bogus/t/ns/x");
        assert!(r.topic.is_none());
        assert_eq!(
            parse_route("/ws/v2/readerx/persistent/t/ns/x").endpoint,
            Endpoint::Unknown
        );
        let r = parse_route("/ws/reader/persistent/p/c/ns/x");
        assert_eq!(r.topic.as_deref(), Some("persistent://p/c/ns/x"));
        assert!(parse_route("/ws/v2/reader/persistent/t/ns/%zz")
            .topic
            .is_none());
        assert_eq!(decode_segment("a%2Bb&c=d").as_deref(), Some("a+b&c=d"));
    }
}
