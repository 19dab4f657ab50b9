//! Topic names: parsing, validation, and encoding into endpoint paths.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// Whether a topic's messages are stored (`persistent`) or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Domain {
    /// `persistent://`: messages are stored and can be replayed.
    Persistent,
    /// `non-persistent://`: messages exist only in flight.
    NonPersistent,
}

impl Domain {
    /// The domain as it appears in topic names and endpoint paths.
    pub fn as_str(self) -> &'static str {
        match self {
            Domain::Persistent => "persistent",
            Domain::NonPersistent => "non-persistent",
        }
    }
}

/// A fully qualified Pulsar topic: `persistent://tenant/namespace/name`.
///
/// Every segment is validated when the topic is built (no empty segment, no
/// `/`, no `.` or `..`, no control characters; tenant and namespace only of
/// Pulsar's `[-=:.\w]`), and the name is percent-encoded when it is put into
/// an endpoint path, so any topic that parses reaches the server unchanged.
///
/// ```
/// use pulsar_eventstream::Topic;
///
/// let topic: Topic = "persistent://my-tenant/event-v1/all".parse()?;
/// assert_eq!(topic.tenant(), "my-tenant");
/// assert_eq!(topic.to_string(), "persistent://my-tenant/event-v1/all");
/// assert!("persistent://my-tenant/event-v1".parse::<Topic>().is_err());
/// # Ok::<(), pulsar_eventstream::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Topic {
    domain: Domain,
    tenant: String,
    namespace: String,
    name: String,
}

impl Topic {
    /// Builds a topic from its parts, validating each.
    pub fn new(
        domain: Domain,
        tenant: impl Into<String>,
        namespace: impl Into<String>,
        name: impl Into<String>,
    ) -> Result<Self, Error> {
        let topic = Topic {
            domain,
            tenant: tenant.into(),
            namespace: namespace.into(),
            name: name.into(),
        };
        let shown = topic.to_string();
        for (what, segment, entity) in [
            ("tenant", &topic.tenant, true),
            ("namespace", &topic.namespace, true),
            ("topic name", &topic.name, false),
        ] {
            validate_segment(segment, entity).map_err(|reason| Error::InvalidTopic {
                topic: shown.chars().take(256).collect(),
                reason: format!("{what} {reason}"),
            })?;
        }
        Ok(topic)
    }

    /// A `persistent://` topic.
    pub fn persistent(
        tenant: impl Into<String>,
        namespace: impl Into<String>,
        name: impl Into<String>,
    ) -> Result<Self, Error> {
        Self::new(Domain::Persistent, tenant, namespace, name)
    }

    /// The topic's domain.
    pub fn domain(&self) -> Domain {
        self.domain
    }

    /// The tenant (for 8x8: the Contact Center tenant name).
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The namespace within the tenant (for 8x8: usually `event-v1`).
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The local name of the topic (for 8x8: `all`, an event type, an agent id).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `domain/tenant/namespace/name` as used in endpoint paths: the name
    /// percent-encoded (the server URL-decodes it), tenant and namespace
    /// verbatim (the server does not decode them; they need no escaping).
    pub(crate) fn encoded_path(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.domain.as_str(),
            self.tenant,
            self.namespace,
            encode_component(&self.name)
        )
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}/{}/{}",
            self.domain.as_str(),
            self.tenant,
            self.namespace,
            self.name
        )
    }
}

impl FromStr for Topic {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::InvalidTopic {
            topic: s.chars().take(256).collect(),
            reason: reason.to_string(),
        };
        let (domain, rest) = if let Some(rest) = s.strip_prefix("persistent://") {
            (Domain::Persistent, rest)
        } else if let Some(rest) = s.strip_prefix("non-persistent://") {
            (Domain::NonPersistent, rest)
        } else {
            return Err(invalid(
                "must start with persistent:// or non-persistent:// (e.g. persistent://tenant/namespace/topic)",
            ));
        };
        let parts: Vec<&str> = rest.split('/').collect();
        match parts.as_slice() {
            [tenant, namespace, name] => Topic::new(domain, *tenant, *namespace, *name),
            _ => Err(invalid(
                "must have exactly three segments: tenant/namespace/topic",
            )),
        }
    }
}

impl TryFrom<&str> for Topic {
    type Error = Error;

    fn try_from(s: &str) -> Result<Self, Error> {
        s.parse()
    }
}

/// `entity`: a tenant or namespace, which Pulsar restricts to `[-=:.\w]`
/// (`NamedEntity`) and which the server reads from the path undecoded
/// (`protocol.md` §1.2), so they travel verbatim and must need no escaping.
fn validate_segment(segment: &str, entity: bool) -> Result<(), &'static str> {
    if segment.is_empty() {
        return Err("is empty");
    }
    if entity
        && !segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'=' | b':' | b'.' | b'_'))
    {
        return Err("may only contain letters, digits and `-=:._`");
    }
    if segment == "." || segment == ".." {
        return Err("must not be `.` or `..`");
    }
    if segment.contains('/') {
        return Err("must not contain `/`");
    }
    if segment.chars().any(char::is_control) {
        return Err("must not contain control characters");
    }
    Ok(())
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so that the
/// server's `URLDecoder` (which turns `+` into a space) gets back the exact
/// value: a `+` travels as `%2B`.
pub(crate) fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_back() {
        for s in [
            "persistent://t/ns/all",
            "non-persistent://public/default/my-topic",
            "persistent://acme/event-v1/InteractionCreated",
        ] {
            let topic: Topic = s.parse().unwrap();
            assert_eq!(topic.to_string(), s);
        }
    }

    #[test]
    fn rejects_bad_names_with_a_reason() {
        for bad in [
            "t/ns/name",
            "persistent://t/ns",
            "persistent://t/ns/a/b",
            "persistent://t//name",
            "persistent://t/../name",
            "persistent://t/ns/na\nme",
            "http://t/ns/name",
            "",
        ] {
            match bad.parse::<Topic>() {
                Err(Error::InvalidTopic { reason, .. }) => assert!(!reason.is_empty()),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn encodes_segments_for_paths() {
        let topic = Topic::persistent("t", "ns", "a+b c%").unwrap();
        assert_eq!(topic.encoded_path(), "persistent/t/ns/a%2Bb%20c%25");
        assert_eq!(encode_component("CAMQ+/=="), "CAMQ%2B%2F%3D%3D");
        assert_eq!(encode_component("héllo"), "h%C3%A9llo");
    }
}
