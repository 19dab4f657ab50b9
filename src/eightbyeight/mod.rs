//! 8x8 Contact Center Event Streaming: regions, topics, API-key auth and
//! typed, lenient events (feature `eightbyeight`, on by default).
//!
//! * [`Region`]: the host serving your cluster
//!   (`Region::from_cluster("NA7")` for `vcc-na7.8x8.com`).
//! * [`Client::builder_8x8`](crate::Client::builder_8x8): a builder with the
//!   region's host, the `X-API-Key` header, a 45 s handshake timeout and
//!   keepalive pings.
//! * [`Topics`]: `event-v1/all`, `event-v1/{EventType}`, `agent-v1/{agentId}`.
//! * [`Event::eightbyeight`](crate::Event::eightbyeight) →
//!   [`EightByEightEvent`]: `AgentStatusChange`, `AgentProvChange`,
//!   `Interaction` (typed by [`InteractionEventType`]), or `Unknown` with the
//!   raw JSON.
//! * [`InteractionTracker`]: queue, ring, talk, hold and wrap-up times per
//!   interaction.
//!
//! # Leniency
//!
//! 8x8 writes any value that looks like a number or a boolean without
//! quotes, decided per value, so a field's JSON type is not fixed. Every
//! typed field here is optional and read leniently: `true` and `"true"`, `5`
//! and `"5"` both work, fields that really change type are [`Scalar`]s,
//! and a value that does not convert is `None` while the whole event stays
//! available through `raw()`. Typing an event never fails once the payload is
//! JSON; a consumer therefore never loops on a message it cannot parse.
//!
//! # Times
//!
//! An event's own time is `interactionEventTS` (seconds) or, for agent
//! status, `statusEventTS`, and else `msgInfo.timestamp` (ms): see
//! [`EightByEightEvent::time`]. `eventTS` is the same on every event of an
//! interaction and is never used as an event time. A missing time is `None`,
//! never 1970.
//!
//! # Example
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use pulsar_eventstream::eightbyeight::{EightByEightEvent, InteractionTracker, Region, Topics};
//! use pulsar_eventstream::{Client, Position};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder_8x8(Region::Us1, std::env::var("PULSAR_API_KEY")?).build()?;
//! let mut events = client
//!     .reader(Topics::new("my-tenant").all()?)
//!     .position(Position::Earliest)
//!     .subscribe()
//!     .await?;
//! let mut tracker = InteractionTracker::new();
//! while let Some(event) = events.try_next().await? {
//!     let event = event.eightbyeight()?;
//!     if let EightByEightEvent::Unknown { root, .. } = &event {
//!         eprintln!("unhandled event type {root}");
//!     }
//!     if let Some(call) = tracker.observe(&event) {
//!         println!("{}: queued {:?}, talked {:?}", call.interaction_guid, call.queue_time, call.talk_time);
//!     }
//! }
//! # Ok(()) }
//! ```

mod agent;
mod client;
mod codes;
mod events;
mod interaction;
mod lenient;
mod region;
mod time;
mod topics;
mod tracker;

pub use agent::{AgentProvChange, AgentStatusChange};
pub use client::HANDSHAKE_TIMEOUT;
pub use codes::{
    AgentProvEventType, CallState, Direction, HangupInitiator, HangupReason, InteractionEventType,
    RejectReason, ResourceType,
};
pub use events::{EightByEightEvent, MsgInfo};
pub use interaction::Interaction;
pub use lenient::Scalar;
pub use region::{Region, RegionError};
pub use time::TimeSource;
pub use topics::{agent_id_from_guid, Topics, AGENT_NAMESPACE, EVENT_NAMESPACE};
pub use tracker::{InteractionSummary, InteractionTracker};

/// The guide `docs/eightbyeight.md`, compiled as doctests so its code stays
/// true (not part of the API).
#[cfg(doctest)]
#[doc = include_str!("../../docs/eightbyeight.md")]
pub struct GuideDoctests;
