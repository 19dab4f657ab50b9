//! [`Topics`]: the 8x8 topic names of a tenant (`8x8.md` §2.3).

use crate::error::{Error, Result};
use crate::topic::Topic;

/// The namespace of the tenant-wide topics: `event-v1`.
pub const EVENT_NAMESPACE: &str = "event-v1";
/// The namespace of the per-agent topics: `agent-v1`.
pub const AGENT_NAMESPACE: &str = "agent-v1";

/// Builds the topics of one 8x8 Contact Center tenant.
///
/// | Helper | Topic |
/// |---|---|
/// | [`all`](Self::all) | `persistent://{tenant}/event-v1/all`: every event |
/// | [`event_type`](Self::event_type) | `persistent://{tenant}/event-v1/{EventType}`: one event type |
/// | [`agent`](Self::agent) | `persistent://{tenant}/agent-v1/{agentId}`: one agent's events |
///
/// Filtering happens on the server through the topic you pick; to read
/// several types, open one stream per type topic or read `all` and filter.
///
/// ```
/// use pulsar_eventstream::eightbyeight::{InteractionEventType, Topics};
///
/// let topics = Topics::new("acme");
/// assert_eq!(topics.all()?.to_string(), "persistent://acme/event-v1/all");
/// assert_eq!(
///     topics.event_type(InteractionEventType::Created)?.to_string(),
///     "persistent://acme/event-v1/InteractionCreated"
/// );
/// assert_eq!(
///     topics.agent("agAglVJkg0TU28dok9y9UQKg")?.to_string(),
///     "persistent://acme/agent-v1/agAglVJkg0TU28dok9y9UQKg"
/// );
/// // A full agent GUID is refused, with the short id to use instead.
/// let err = topics.agent("acme-agAglVJkg0TU28dok9y9UQKg-5e1f9a2c").unwrap_err();
/// assert!(err.to_string().contains("agAglVJkg0TU28dok9y9UQKg"));
/// # Ok::<(), pulsar_eventstream::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    tenant: String,
    namespace: String,
    agent_namespace: String,
}

impl Topics {
    /// The topics of `tenant` (the Contact Center tenant name), in the
    /// default namespaces `event-v1` and `agent-v1`.
    pub fn new(tenant: impl Into<String>) -> Self {
        Topics {
            tenant: tenant.into().trim().to_string(),
            namespace: EVENT_NAMESPACE.to_string(),
            agent_namespace: AGENT_NAMESPACE.to_string(),
        }
    }

    /// Uses another namespace for [`all`](Self::all) and
    /// [`event_type`](Self::event_type) (for a later `event-v2`, say).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Uses another namespace for [`agent`](Self::agent).
    pub fn agent_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.agent_namespace = namespace.into();
        self
    }

    /// The tenant.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// Every event of the tenant: `persistent://{tenant}/event-v1/all`.
    pub fn all(&self) -> Result<Topic> {
        Topic::persistent(&self.tenant, &self.namespace, "all")
    }

    /// One event type: `persistent://{tenant}/event-v1/{EventType}`, e.g.
    /// `InteractionCreated` or `AgentStatusChange`. Names are case-sensitive
    /// on the server: a wrong case typically fails with 404.
    pub fn event_type(&self, event_type: impl AsRef<str>) -> Result<Topic> {
        Topic::persistent(&self.tenant, &self.namespace, event_type.as_ref().trim())
    }

    /// One agent's events: `persistent://{tenant}/agent-v1/{agentId}`.
    ///
    /// Takes the short agent id (like `agAglVJkg0TU28dok9y9UQKg`). A full
    /// agent GUID (`{tenant}-{agentId}-{uuid}`), or anything else with a
    /// `-`, is refused with [`Error::InvalidTopic`] naming the short id
    /// when it can be found.
    pub fn agent(&self, agent_id: &str) -> Result<Topic> {
        let agent_id = agent_id.trim();
        if agent_id.contains('-') {
            let hint = match agent_id_from_guid(agent_id) {
                Some(short) => format!(" (here probably `{short}`)"),
                None => String::new(),
            };
            return Err(Error::InvalidTopic {
                topic: format!(
                    "persistent://{}/{}/{}",
                    self.tenant,
                    self.agent_namespace,
                    agent_id.chars().take(200).collect::<String>()
                ),
                reason: format!(
                    "agent topics take the short agent id like `agAglVJkg0TU28dok9y9UQKg`, not \
                     the full agent GUID `{{tenant}}-{{agentId}}-{{uuid}}`: use the `ag…` part{hint}"
                ),
            });
        }
        Topic::persistent(&self.tenant, &self.agent_namespace, agent_id)
    }
}

/// The short agent id inside a full agent GUID (`{tenant}-{agentId}-{uuid}`):
/// the last `-`-separated part that starts with `ag` and is at least 16
/// letters and digits long. `None` when there is no such part.
///
/// ```
/// use pulsar_eventstream::eightbyeight::agent_id_from_guid;
///
/// assert_eq!(
///     agent_id_from_guid("my-tenant-agAglVJkg0TU28dok9y9UQKg-5e1f9a2c-77b0"),
///     Some("agAglVJkg0TU28dok9y9UQKg")
/// );
/// assert_eq!(agent_id_from_guid("nothing-here"), None);
/// ```
pub fn agent_id_from_guid(guid: &str) -> Option<&str> {
    guid.split('-').rev().find(|part| {
        part.starts_with("ag")
            && part.len() >= 16
            && part.chars().all(|c| c.is_ascii_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_can_be_overridden() {
        let topics = Topics::new(" acme ")
            .namespace("event-v2")
            .agent_namespace("agent-v2");
        assert_eq!(topics.tenant(), "acme");
        assert_eq!(
            topics.all().unwrap().to_string(),
            "persistent://acme/event-v2/all"
        );
        assert_eq!(
            topics.agent("agX").unwrap().to_string(),
            "persistent://acme/agent-v2/agX"
        );
    }

    #[test]
    fn bad_segments_are_refused() {
        assert!(Topics::new("").all().is_err());
        assert!(Topics::new("acme").event_type("").is_err());
        assert!(Topics::new("acme").event_type("a/b").is_err());
        let err = Topics::new("acme").agent("some-thing").unwrap_err();
        assert!(!err.to_string().contains("probably"), "{err}");
        assert!(err.to_string().contains("short agent id"), "{err}");
    }
}
