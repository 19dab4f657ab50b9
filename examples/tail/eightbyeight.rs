//! The 8x8 flags of `tail`, equivalent to those of 8x8's Go and Java
//! examples: `--tenant` (env `PULSAR_TENANT`) with `--region`/`--cluster`
//! derive `--service-url` and `--topic`; flags given explicitly still win.
//!
//! ```text
//! tail --region uk3 --tenant acme                     # event-v1/all
//! tail --cluster NA7 --tenant acme --event-type InteractionCreated
//! tail --region us1 --tenant acme --agent agAglVJkg0TU28dok9y9UQKg
//! ```

use clap::Args;
use pulsar_eventstream::eightbyeight::{EightByEightEvent, Interaction, Region, Topics};
use pulsar_eventstream::{Event, Topic};

#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "8x8 Event Streaming")]
pub struct Flags {
    /// 8x8 region: uk3, us1 or us2 (derives --service-url)
    #[arg(long, env = "PULSAR_REGION", conflicts_with = "cluster")]
    pub region: Option<Region>,

    /// Contact Center cluster, e.g. NA7 or vcc-na7.8x8.com (derives --service-url)
    #[arg(long, env = "PULSAR_CLUSTER")]
    pub cluster: Option<String>,

    /// Contact Center tenant name (derives --topic)
    #[arg(long, env = "PULSAR_TENANT")]
    pub tenant: Option<String>,

    /// Namespace of the tenant-wide topics (--agent topics use agent-v1)
    #[arg(long, env = "PULSAR_NAMESPACE", default_value = "event-v1")]
    pub namespace: String,

    /// Only this event type, e.g. InteractionCreated (topic {namespace}/TYPE)
    #[arg(
        long,
        env = "PULSAR_EVENT_TYPE",
        requires = "tenant",
        conflicts_with = "agent"
    )]
    pub event_type: Option<String>,

    /// Only this agent's events, by short agent id (topic agent-v1/ID)
    #[arg(long, env = "PULSAR_AGENT", requires = "tenant")]
    pub agent: Option<String>,
}

impl Flags {
    /// Fills in the service URL and the topic where they were not given.
    pub fn apply(
        &self,
        service_url: &mut Option<String>,
        topic: &mut Option<String>,
    ) -> Result<(), String> {
        if service_url.is_none() {
            *service_url = self.region()?.map(|r| r.service_url());
        }
        if topic.is_none() {
            if let Some(tenant) = &self.tenant {
                *topic = Some(self.topic(tenant)?.to_string());
            }
        }
        if self.tenant.is_some() && service_url.is_none() {
            return Err(
                "--tenant needs --region uk3|us1|us2, --cluster NAME or --service-url".into(),
            );
        }
        Ok(())
    }

    fn region(&self) -> Result<Option<Region>, String> {
        match (&self.region, &self.cluster) {
            (Some(region), _) => Ok(Some(region.clone())),
            (None, Some(cluster)) => Region::from_cluster(cluster)
                .map(Some)
                .map_err(|e| e.to_string()),
            (None, None) => Ok(None),
        }
    }

    fn topic(&self, tenant: &str) -> Result<Topic, String> {
        let topics = Topics::new(tenant).namespace(self.namespace.clone());
        match (&self.event_type, &self.agent) {
            (Some(event_type), _) => topics.event_type(event_type),
            (None, Some(agent)) => topics.agent(agent),
            (None, None) => topics.all(),
        }
        .map_err(|e| e.to_string())
    }
}

/// `--format typed`: one line per event from its typed 8x8 view.
pub fn typed_line(event: &Event) -> String {
    let typed = match event.eightbyeight() {
        Ok(typed) => typed,
        Err(_) => return format!("- (payload is not JSON, {} bytes)", event.payload().len()),
    };
    let time = typed
        .time()
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|| "-".into());
    let detail = match &typed {
        EightByEightEvent::Interaction(call) => interaction_detail(call),
        EightByEightEvent::AgentStatusChange(status) => format!(
            "agent={} state={}",
            status.agent_id.as_deref().unwrap_or("?"),
            status.new_state.map_or("?".into(), |s| s.to_string())
        ),
        EightByEightEvent::Unknown { root, .. } => format!("(unknown root {root:?})"),
        other => other
            .agent_id()
            .map(|a| format!("agent={a}"))
            .unwrap_or_default(),
    };
    format!("{time} {} {detail}", typed.name())
}

fn interaction_detail(call: &Interaction) -> String {
    let mut parts = vec![call.interaction_guid.clone().unwrap_or_else(|| "?".into())];
    if let Some(state) = &call.call_state {
        parts.push(state.to_string());
    }
    if let Some(agent) = &call.agent_id {
        parts.push(format!("agent={agent}"));
    }
    if let Some(hold) = call.on_hold() {
        parts.push(format!("hold={hold}"));
    }
    if let Some(who) = &call.hangup_initiator {
        parts.push(format!("hangup={who}"));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(
        flags: Flags,
        url: Option<&str>,
        topic: Option<&str>,
    ) -> (Option<String>, Option<String>) {
        let (mut url, mut topic) = (url.map(String::from), topic.map(String::from));
        flags.apply(&mut url, &mut topic).unwrap();
        (url, topic)
    }

    fn flags() -> Flags {
        Flags {
            namespace: "event-v1".into(),
            ..Flags::default()
        }
    }

    #[test]
    fn tenant_and_region_give_url_and_topic() {
        let f = Flags {
            region: Some(Region::Us1),
            tenant: Some("acme".into()),
            ..flags()
        };
        assert_eq!(
            resolve(f, None, None),
            (
                Some("wss://pulsar-ws-use1.8x8.com".into()),
                Some("persistent://acme/event-v1/all".into())
            )
        );
        let f = Flags {
            cluster: Some("vcc-na7.8x8.com".into()),
            tenant: Some("acme".into()),
            event_type: Some("InteractionCreated".into()),
            ..flags()
        };
        assert_eq!(
            resolve(f, None, None),
            (
                Some("wss://pulsar-ws-usw2.8x8.com".into()),
                Some("persistent://acme/event-v1/InteractionCreated".into())
            )
        );
        let f = Flags {
            tenant: Some("acme".into()),
            agent: Some("agX".into()),
            ..flags()
        };
        assert_eq!(
            resolve(f, Some("ws://h"), None).1.as_deref(),
            Some("persistent://acme/agent-v1/agX")
        );
    }

    #[test]
    fn explicit_flags_win() {
        let f = Flags {
            region: Some(Region::Uk3),
            tenant: Some("acme".into()),
            ..flags()
        };
        assert_eq!(
            resolve(f, Some("ws://127.0.0.1:8080"), Some("persistent://t/n/x")),
            (
                Some("ws://127.0.0.1:8080".into()),
                Some("persistent://t/n/x".into())
            )
        );
    }

    #[test]
    fn clear_errors() {
        let mut none = (None, None);
        let f = Flags {
            tenant: Some("acme".into()),
            ..flags()
        };
        assert!(f
            .apply(&mut none.0, &mut none.1)
            .unwrap_err()
            .contains("--region"));
        let f = Flags {
            cluster: Some("AU1".into()),
            ..flags()
        };
        assert!(f
            .apply(&mut None, &mut None)
            .unwrap_err()
            .contains("no Event Streaming host yet"));
        let f = Flags {
            region: Some(Region::Uk3),
            tenant: Some("acme".into()),
            agent: Some("acme-agAglVJkg0TU28dok9y9UQKg-1".into()),
            ..flags()
        };
        assert!(f
            .apply(&mut None, &mut None)
            .unwrap_err()
            .contains("short agent id"));
    }
}
