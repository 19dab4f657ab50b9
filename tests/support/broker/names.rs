//! Topic names for the real-broker tests: unique per test, and the percent-encoded path form
//! used by `/admin/v2/...` and `/ws/v2/...`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

pub(super) fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{nanos}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh topic name: `persistent://public/default/<prefix>-<nanos>-<pid>-<n>`.
pub fn unique_topic(prefix: &str) -> String {
    format!("persistent://public/default/{prefix}-{}", unique_suffix())
}

/// `persistent://public/default/t` (or a short `t`) -> `persistent/public/default/t`, the form
/// used in `/admin/v2/...` and `/ws/v2/...` paths, with the topic segment percent-encoded.
pub fn topic_path(topic: &str) -> String {
    let (domain, rest) = match topic.split_once("://") {
        Some((d, r)) => (d, r),
        None => ("persistent", topic),
    };
    let parts: Vec<&str> = rest.splitn(3, '/').collect();
    let (tenant, ns, local) = match parts.as_slice() {
        [t, n, l] => (*t, *n, *l),
        [l] => ("public", "default", *l),
        _ => panic!("cannot parse topic name {topic:?}"),
    };
    format!(
        "{domain}/{}/{}/{}",
        encode_segment(tenant),
        encode_segment(ns),
        encode_segment(local)
    )
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
