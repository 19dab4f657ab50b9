//! Code tables of 8x8 events (`8x8.md` §5.3, §5.5, §5.7) as enums, each
//! with a fallback that keeps a value this crate does not know.
//!
//! Match on the named variants. A value that is `Other(..)` today may get a
//! named variant in a later version, so do not match on `Other` contents.

use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

/// Declares an enum of text codes with an `Other(String)` fallback, its
/// wire text, case-insensitive parsing, `Display`, `FromStr` and `AsRef<str>`.
macro_rules! text_codes {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this crate does not know, kept as received.
            Other(String),
        }

        impl $name {
            /// The code as 8x8 writes it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $text, )*
                    Self::Other(text) => text,
                }
            }

            /// Reads a code (ignoring case and surrounding spaces); unknown
            /// text gives `Other` with the text as received.
            pub fn from_text(text: &str) -> Self {
                let trimmed = text.trim();
                $( if trimmed.eq_ignore_ascii_case($text) { return Self::$variant; } )*
                Self::Other(text.to_string())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = Infallible;
            fn from_str(s: &str) -> Result<Self, Infallible> {
                Ok(Self::from_text(s))
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self::from_text(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }
    };
}

text_codes! {
    /// The type of an `Interaction` event: its `event` field (`8x8.md` §5.3).
    ///
    /// The same names are the event-type topics
    /// ([`Topics::event_type`](super::Topics::event_type)).
    ///
    /// ```
    /// use pulsar_eventstream::eightbyeight::InteractionEventType;
    ///
    /// let t = InteractionEventType::from_text("InteractionQueued");
    /// assert_eq!(t, InteractionEventType::Queued);
    /// assert_eq!(t.as_str(), "InteractionQueued");
    /// assert_eq!(
    ///     InteractionEventType::from_text("InteractionTeleported"),
    ///     InteractionEventType::Other("InteractionTeleported".into())
    /// );
    /// ```
    InteractionEventType {
        /// `InteractionCreated`: a new inbound or outbound interaction.
        Created = "InteractionCreated",
        /// `InteractionQueued`: waiting for an agent.
        Queued = "InteractionQueued",
        /// `InteractionAssigned`: offered to an agent.
        Assigned = "InteractionAssigned",
        /// `InteractionAccepted`: the agent accepted (outbound: ringing at
        /// the far end).
        Accepted = "InteractionAccepted",
        /// `InteractionCustomerAccepted`: an outbound call answered by the
        /// customer.
        CustomerAccepted = "InteractionCustomerAccepted",
        /// `InteractionRejected`: the agent rejected or timed out; back to
        /// the queue.
        Rejected = "InteractionRejected",
        /// `InteractionUnqueued`: left the queue before assignment (e.g. the
        /// caller hung up).
        Unqueued = "InteractionUnqueued",
        /// `LineHoldStatus`: hold on or off (see `status`).
        LineHoldStatus = "LineHoldStatus",
        /// `LineMuteStatus`: mute changed.
        LineMuteStatus = "LineMuteStatus",
        /// `InteractionRecordingStarted`: recording of a call leg started.
        RecordingStarted = "InteractionRecordingStarted",
        /// `RecordingStatus`: recording paused or resumed (see `status`).
        RecordingStatus = "RecordingStatus",
        /// `InteractionPostProcess`: wrap-up started.
        PostProcess = "InteractionPostProcess",
        /// `InteractionRecordingReady`: the recording is available.
        RecordingReady = "InteractionRecordingReady",
        /// `InteractionEndPostProcess`: wrap-up ended.
        EndPostProcess = "InteractionEndPostProcess",
        /// `InteractionDeassigned`: the agent was released.
        Deassigned = "InteractionDeassigned",
        /// `InteractionTransferRequest`: a transfer was requested.
        TransferRequest = "InteractionTransferRequest",
        /// `InteractionReconnect`: lines reconnected.
        Reconnect = "InteractionReconnect",
        /// `InteractionParticipantChange`: conference, supervisor join, etc.
        ParticipantChange = "InteractionParticipantChange",
        /// `InteractionParticipantRemovedByHost`: the host removed a
        /// participant.
        ParticipantRemovedByHost = "InteractionParticipantRemovedByHost",
        /// `InteractionJoinLinesRequest`: a request to join lines.
        JoinLinesRequest = "InteractionJoinLinesRequest",
        /// `InteractionJoined`: lines joined.
        Joined = "InteractionJoined",
        /// `InteractionChanged`: interaction properties changed.
        Changed = "InteractionChanged",
        /// `InteractionQueueTimeout`: timed out in the queue.
        QueueTimeout = "InteractionQueueTimeout",
        /// `InteractionDeleted`: the interaction ended, or a leg left a
        /// conference; usually the last event.
        Deleted = "InteractionDeleted",
        /// `GuestChatEnd`: a digital guest ended the chat.
        GuestChatEnd = "GuestChatEnd",
        /// `MediaProxyAdded`.
        MediaProxyAdded = "MediaProxyAdded",
        /// `MediaProxyRemoved`.
        MediaProxyRemoved = "MediaProxyRemoved",
    }
}

text_codes! {
    /// The type of an `AgentProvChange` event: its `event` field.
    AgentProvEventType {
        /// `AgentSkillCreated`: a new agent skill.
        SkillCreated = "AgentSkillCreated",
        /// `AgentSkillChanged`: a skill was enabled or disabled.
        SkillChanged = "AgentSkillChanged",
    }
}

text_codes! {
    /// An interaction's `callState` (`8x8.md` §5.7).
    CallState {
        /// `CS_IDLE`.
        Idle = "CS_IDLE",
        /// `CS_QUEUED`.
        Queued = "CS_QUEUED",
        /// `CS_INPROGRESS`.
        InProgress = "CS_INPROGRESS",
        /// `CS_CONNECTED`.
        Connected = "CS_CONNECTED",
        /// `CS_HOLD`.
        Hold = "CS_HOLD",
        /// `CS_DISCONNECTED`.
        Disconnected = "CS_DISCONNECTED",
    }
}

text_codes! {
    /// Who ended the call: `hangupInitiator` on `InteractionDeleted`.
    HangupInitiator {
        /// `AGENT`.
        Agent = "AGENT",
        /// `CUSTOMER`.
        Customer = "CUSTOMER",
        /// `SYSTEM` (e.g. an outbound call nobody answered).
        System = "SYSTEM",
    }
}

text_codes! {
    /// Why the call ended: `callHangupReason` on `InteractionDeleted`.
    HangupReason {
        /// `CEC_NONE`: no reason given.
        Unspecified = "CEC_NONE",
        /// `CEC_DISCONNECT_NORMAL`.
        Normal = "CEC_DISCONNECT_NORMAL",
        /// `CEC_DISCONNECT_BUSY`.
        Busy = "CEC_DISCONNECT_BUSY",
        /// `CEC_DISCONNECT_BADADDRESS`.
        BadAddress = "CEC_DISCONNECT_BADADDRESS",
        /// `CEC_DISCONNECT_NOANSWER`.
        NoAnswer = "CEC_DISCONNECT_NOANSWER",
        /// `CEC_DISCONNECT_CANCELLED`.
        Cancelled = "CEC_DISCONNECT_CANCELLED",
        /// `CEC_DISCONNECT_REJECTED`.
        Rejected = "CEC_DISCONNECT_REJECTED",
        /// `CEC_DISCONNECT_FAILED`.
        Failed = "CEC_DISCONNECT_FAILED",
        /// `CEC_DISCONNECT_BLOCKED`.
        Blocked = "CEC_DISCONNECT_BLOCKED",
    }
}

text_codes! {
    /// An interaction's `direction`.
    Direction {
        /// `in`: inbound.
        Inbound = "in",
        /// `out`: outbound.
        Outbound = "out",
    }
}

/// The medium of an interaction: `resourceType` (`8x8.md` §5.7).
///
/// ```
/// use pulsar_eventstream::eightbyeight::ResourceType;
///
/// assert_eq!(ResourceType::from_code(3), ResourceType::Sms);
/// assert_eq!(ResourceType::from_code(9), ResourceType::Other(9));
/// assert_eq!(ResourceType::Sms.code(), 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResourceType {
    /// 0: phone.
    Phone,
    /// 1: email.
    Email,
    /// 2: chat.
    Chat,
    /// 3: SMS (its `mediaType` is `"chat"`).
    Sms,
    /// 4: video (its `mediaType` is `"phone"`).
    Video,
    /// A code this crate does not know.
    Other(i64),
}

impl ResourceType {
    /// The type for a numeric code.
    pub fn from_code(code: i64) -> Self {
        match code {
            0 => ResourceType::Phone,
            1 => ResourceType::Email,
            2 => ResourceType::Chat,
            3 => ResourceType::Sms,
            4 => ResourceType::Video,
            other => ResourceType::Other(other),
        }
    }

    /// The numeric code.
    pub fn code(self) -> i64 {
        match self {
            ResourceType::Phone => 0,
            ResourceType::Email => 1,
            ResourceType::Chat => 2,
            ResourceType::Sms => 3,
            ResourceType::Video => 4,
            ResourceType::Other(code) => code,
        }
    }
}

/// Why an agent did not take an interaction: `rejectReason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectReason {
    /// 0: unknown (also the value on interactions nobody rejected).
    Unknown,
    /// 1: the offer timed out.
    Timeout,
    /// 2: the agent rejected it.
    AgentReject,
    /// A code this crate does not know.
    Other(i64),
}

impl RejectReason {
    /// The reason for a numeric code.
    pub fn from_code(code: i64) -> Self {
        match code {
            0 => RejectReason::Unknown,
            1 => RejectReason::Timeout,
            2 => RejectReason::AgentReject,
            other => RejectReason::Other(other),
        }
    }

    /// The numeric code.
    pub fn code(self) -> i64 {
        match self {
            RejectReason::Unknown => 0,
            RejectReason::Timeout => 1,
            RejectReason::AgentReject => 2,
            RejectReason::Other(code) => code,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_codes_parse_leniently_and_print_back() {
        assert_eq!(CallState::from_text(" cs_hold "), CallState::Hold);
        assert_eq!(CallState::Hold.to_string(), "CS_HOLD");
        assert_eq!(
            CallState::from_text("CS_RINGING"),
            CallState::Other("CS_RINGING".into())
        );
        assert_eq!(CallState::Other("CS_RINGING".into()).as_str(), "CS_RINGING");
        assert_eq!(
            "CEC_DISCONNECT_NOANSWER".parse::<HangupReason>(),
            Ok(HangupReason::NoAnswer)
        );
        assert_eq!(HangupInitiator::from("customer"), HangupInitiator::Customer);
        assert_eq!(Direction::from_text("out"), Direction::Outbound);
        assert_eq!(
            AgentProvEventType::from_text("AgentSkillChanged"),
            AgentProvEventType::SkillChanged
        );
        let t = InteractionEventType::Deleted;
        assert_eq!(AsRef::<str>::as_ref(&t), "InteractionDeleted");
    }

    #[test]
    fn numeric_codes_round_trip() {
        for code in -1..6 {
            assert_eq!(ResourceType::from_code(code).code(), code);
            assert_eq!(RejectReason::from_code(code).code(), code);
        }
    }
}
