//! Agent events: `AgentStatusChange` and `AgentProvChange` (`8x8.md` §5.5).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::codes::AgentProvEventType;
use super::events::MsgInfo;
use super::lenient::Fields;
use super::time::{self, TimeSource};

/// An `AgentStatusChange` event: an agent's new status.
///
/// State codes seen in 8x8's documentation: 0 = logged out, 1 = logged in,
/// 5 = available; the full list is not documented, so
/// [`new_state`](Self::new_state) stays a number.
///
/// ```
/// use pulsar_eventstream::eightbyeight::EightByEightEvent;
///
/// let event = EightByEightEvent::from_json(serde_json::json!({"AgentStatusChange": {
///     "agentId": "agAglVJkg0TU28dok9y9UQKg", "newState": "5",
///     "newReasonCodeUser": "801=1722", "statusEventTS": 1669235544, "msgInfo": {}
/// }}));
/// let EightByEightEvent::AgentStatusChange(status) = event else { panic!() };
/// assert_eq!(status.new_state, Some(5));
/// assert_eq!(status.reason_code(), Some(("801", "1722")));
/// assert_eq!(status.time().map(|t| t.timestamp()), Some(1669235544));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentStatusChange {
    /// `agentId`: the short agent id.
    pub agent_id: Option<String>,
    /// `newState`: the numeric state code.
    pub new_state: Option<i64>,
    /// `newSubState`.
    pub new_sub_state: Option<String>,
    /// `newSubStateReason`.
    pub new_sub_state_reason: Option<String>,
    /// `newReasonCodeUser`: `"list=code"` style (see
    /// [`reason_code`](Self::reason_code)), or `"none"`.
    pub new_reason_code_user: Option<String>,
    /// `statusEventTS`: the change's time, epoch seconds.
    pub status_event_ts: Option<i64>,
    /// `msgInfo` (often `{}`).
    pub msg_info: MsgInfo,
    pub(crate) raw: Value,
}

impl AgentStatusChange {
    pub(crate) fn from_event(raw: Value) -> AgentStatusChange {
        let f = Fields::of(&raw).object("AgentStatusChange");
        AgentStatusChange {
            agent_id: f.text("agentId"),
            new_state: f.int("newState"),
            new_sub_state: f.text("newSubState"),
            new_sub_state_reason: f.text("newSubStateReason"),
            new_reason_code_user: f.text("newReasonCodeUser"),
            status_event_ts: f.int("statusEventTS"),
            msg_info: MsgInfo::read(f.object("msgInfo")),
            raw,
        }
    }

    /// The whole event as received: `{"AgentStatusChange": {…}}`.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// One member of the `AgentStatusChange` object as received. `null`
    /// counts as absent.
    pub fn field(&self, name: &str) -> Option<&Value> {
        Fields::of(&self.raw).object("AgentStatusChange").raw(name)
    }

    /// `newReasonCodeUser` split into its status-code list and code
    /// (`"801=1722"` → `("801", "1722")`). Code ids are only meaningful
    /// within their list.
    pub fn reason_code(&self) -> Option<(&str, &str)> {
        let (list, code) = self.new_reason_code_user.as_deref()?.split_once('=')?;
        Some((list.trim(), code.trim()))
    }

    /// The change's time: `statusEventTS` (seconds), or else
    /// `msgInfo.timestamp` (ms). Never a silent 1970.
    pub fn time(&self) -> Option<DateTime<Utc>> {
        self.time_with_source().map(|(t, _)| t)
    }

    /// Like [`time`](Self::time), also telling which field it came from.
    pub fn time_with_source(&self) -> Option<(DateTime<Utc>, TimeSource)> {
        time::first_time([
            (
                self.status_event_ts.and_then(time::from_seconds),
                TimeSource::StatusEventTs,
            ),
            (self.msg_info.time(), TimeSource::MsgInfoTimestamp),
        ])
    }
}

/// An `AgentProvChange` event: an agent's profile changed, for example a
/// skill created or enabled ([`event`](Self::event)).
///
/// ```
/// use pulsar_eventstream::eightbyeight::{AgentProvEventType, EightByEightEvent};
///
/// let event = EightByEightEvent::from_json(serde_json::json!({"AgentProvChange": {
///     "event": "AgentSkillChanged", "agentId": "agX", "enabled": "yes",
///     "skillId": "acme-agX-phone-3-9f2c", "msgInfo": {}
/// }}));
/// let EightByEightEvent::AgentProvChange(change) = event else { panic!() };
/// assert_eq!(change.event, Some(AgentProvEventType::SkillChanged));
/// assert_eq!(change.enabled, Some(true));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentProvChange {
    /// `event`: what changed.
    pub event: Option<AgentProvEventType>,
    /// `agentId`: the short agent id.
    pub agent_id: Option<String>,
    /// `enabled` (`"yes"`/`"no"`, or a boolean).
    pub enabled: Option<bool>,
    /// `skillId`: `{tenant}-{agentId}-{media}-{n}-{uuid}`.
    pub skill_id: Option<String>,
    /// `tenantSkillId`: `{tenant}-{media}-{n}-{uuid}`.
    pub tenant_skill_id: Option<String>,
    /// `msgInfo` (often `{}`).
    pub msg_info: MsgInfo,
    pub(crate) raw: Value,
}

impl AgentProvChange {
    pub(crate) fn from_event(raw: Value) -> AgentProvChange {
        let f = Fields::of(&raw).object("AgentProvChange");
        AgentProvChange {
            event: f.code("event", AgentProvEventType::from_text),
            agent_id: f.text("agentId"),
            enabled: f.boolean("enabled"),
            skill_id: f.text("skillId"),
            tenant_skill_id: f.text("tenantSkillId"),
            msg_info: MsgInfo::read(f.object("msgInfo")),
            raw,
        }
    }

    /// The whole event as received: `{"AgentProvChange": {…}}`.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// One member of the `AgentProvChange` object as received. `null` counts
    /// as absent.
    pub fn field(&self, name: &str) -> Option<&Value> {
        Fields::of(&self.raw).object("AgentProvChange").raw(name)
    }

    /// The event's time: `msgInfo.timestamp` (ms), which 8x8 often leaves
    /// out on this event; then `None`, never 1970.
    pub fn time(&self) -> Option<DateTime<Utc>> {
        self.msg_info.time()
    }
}
