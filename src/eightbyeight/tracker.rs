//! [`InteractionTracker`]: follows interactions by `interactionGUID` and
//! computes queue, ring, talk, hold and wrap-up times (`8x8.md` §5.8, §5.10).

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::codes::{Direction, HangupInitiator, HangupReason, InteractionEventType as T};
use super::events::EightByEightEvent;
use super::interaction::Interaction;
use super::lenient::Scalar;

/// How many finished interaction GUIDs are remembered, so that an event
/// arriving after its interaction's `InteractionDeleted` does not start a
/// new one that never ends.
const FINISHED_MEMORY: usize = 4096;

/// Follows interactions by `interactionGUID` and summarises each when its
/// `InteractionDeleted` arrives.
///
/// Times come from each event's own time (`interactionEventTS`, else
/// `msgInfo.timestamp`; never `eventTS`), so durations have 1 s precision,
/// and events may arrive in any order: each milestone keeps its earliest
/// time. Events without a GUID or a usable time change nothing.
///
/// * **Queue time**: the first `InteractionQueued` → the `InteractionAssigned`
///   that led to the answer (the last one before the first
///   `InteractionAccepted`), or that `InteractionAccepted` when no assignment
///   was seen. Unanswered: → `InteractionUnqueued`, `InteractionQueueTimeout`
///   or `InteractionDeleted`, whichever came first.
/// * **Ring time**: that assignment → `InteractionAccepted`.
/// * **Talk time**: `InteractionCustomerAccepted` (outbound) or else
///   `InteractionAccepted` → `InteractionPostProcess`, or
///   `InteractionDeleted` when there was no wrap-up.
/// * **Hold time**: the sum of `LineHoldStatus` on → off spans within the
///   talk time.
/// * **Wrap-up time**: `InteractionPostProcess` → `InteractionEndPostProcess`.
///
/// ```
/// use pulsar_eventstream::eightbyeight::{EightByEightEvent, InteractionTracker};
/// use serde_json::json;
/// use std::time::Duration;
///
/// let mut tracker = InteractionTracker::new();
/// let mut finished = Vec::new();
/// for (event, ts) in [
///     ("InteractionQueued", 1000),
///     ("InteractionAssigned", 1012),
///     ("InteractionAccepted", 1015),
///     ("InteractionPostProcess", 1135),
///     ("InteractionDeleted", 1170),
/// ] {
///     let payload = json!({"Interaction": {"event": event,
///         "interactionGUID": "int-1", "interactionEventTS": ts}});
///     finished.extend(tracker.observe(&EightByEightEvent::from_json(payload)));
/// }
/// let call = &finished[0];
/// assert_eq!(call.queue_time, Some(Duration::from_secs(12)));
/// assert_eq!(call.ring_time, Some(Duration::from_secs(3)));
/// assert_eq!(call.talk_time, Some(Duration::from_secs(120)));
/// assert!(call.answered);
/// ```
#[derive(Debug, Default)]
pub struct InteractionTracker {
    open: HashMap<String, Timeline>,
    finished: HashSet<String>,
    finished_order: VecDeque<String>,
}

/// What [`InteractionTracker`] learned about one interaction.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct InteractionSummary {
    /// The `interactionGUID`.
    pub interaction_guid: String,
    /// `mediaType`, as last seen.
    pub media_type: Option<String>,
    /// `direction`, as last seen.
    pub direction: Option<Direction>,
    /// The agent who accepted it, else the last agent seen.
    pub agent_id: Option<String>,
    /// Whether an agent accepted it.
    pub answered: bool,
    /// How many `InteractionRejected` events were seen.
    pub rejections: u32,
    /// Time in the queue (see [`InteractionTracker`]).
    pub queue_time: Option<Duration>,
    /// Time offered to the answering agent before they accepted.
    pub ring_time: Option<Duration>,
    /// Talk time, holds included.
    pub talk_time: Option<Duration>,
    /// Time on hold during the talk time (zero when never on hold).
    pub hold_time: Duration,
    /// Wrap-up time.
    pub wrap_up_time: Option<Duration>,
    /// `hangupInitiator` from `InteractionDeleted`.
    pub hangup_initiator: Option<HangupInitiator>,
    /// `callHangupReason` from `InteractionDeleted`.
    pub hangup_reason: Option<HangupReason>,
    /// `dispositionCode`, as last seen.
    pub disposition_code: Option<Scalar>,
    /// The earliest event time seen.
    pub started_at: Option<DateTime<Utc>>,
    /// The `InteractionDeleted` time.
    pub ended_at: Option<DateTime<Utc>>,
    /// How many events of the interaction were seen.
    pub events: usize,
}

#[derive(Debug, Default)]
struct Timeline {
    events: usize,
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
    queued: Option<DateTime<Utc>>,
    assigned: Vec<DateTime<Utc>>,
    accepted: Option<DateTime<Utc>>,
    customer_accepted: Option<DateTime<Utc>>,
    left_queue: Option<DateTime<Utc>>,
    post_process: Option<DateTime<Utc>>,
    end_post_process: Option<DateTime<Utc>>,
    deleted: Option<DateTime<Utc>>,
    holds: Vec<(DateTime<Utc>, bool)>,
    rejections: u32,
    agent_id: Option<String>,
    accepting_agent: Option<String>,
    media_type: Option<String>,
    direction: Option<Direction>,
    hangup_initiator: Option<HangupInitiator>,
    hangup_reason: Option<HangupReason>,
    disposition_code: Option<Scalar>,
}

/// Keeps the earlier of two times.
fn earliest(slot: &mut Option<DateTime<Utc>>, t: DateTime<Utc>) {
    if slot.is_none_or(|old| t < old) {
        *slot = Some(t);
    }
}

fn span(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Option<Duration> {
    (to? - from?).to_std().ok()
}

impl InteractionTracker {
    /// An empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one event; returns the interaction's summary when this event is
    /// its `InteractionDeleted`. Non-interaction events are ignored.
    pub fn observe(&mut self, event: &EightByEightEvent) -> Option<InteractionSummary> {
        self.observe_interaction(event.as_interaction()?)
    }

    /// Feeds one interaction event (see [`observe`](Self::observe)).
    pub fn observe_interaction(&mut self, event: &Interaction) -> Option<InteractionSummary> {
        let guid = event.interaction_guid.as_deref()?.trim();
        if guid.is_empty() || self.finished.contains(guid) {
            return None;
        }
        let line = self.open.entry(guid.to_string()).or_default();
        line.record(event);
        if event.event == Some(T::Deleted) {
            return self.finish(guid);
        }
        None
    }

    /// Ends an interaction now (e.g. one whose `InteractionDeleted` never
    /// came) and returns what is known of it.
    pub fn finish(&mut self, interaction_guid: &str) -> Option<InteractionSummary> {
        let line = self.open.remove(interaction_guid)?;
        self.remember_finished(interaction_guid);
        Some(line.summary(interaction_guid.to_string()))
    }

    /// Ends every interaction whose last event is older than `before`, to
    /// bound memory on a stream that misses `InteractionDeleted` events.
    pub fn finish_idle(&mut self, before: DateTime<Utc>) -> Vec<InteractionSummary> {
        let idle: Vec<String> = self
            .open
            .iter()
            .filter(|(_, line)| line.last.is_some_and(|t| t < before))
            .map(|(guid, _)| guid.clone())
            .collect();
        idle.iter().filter_map(|guid| self.finish(guid)).collect()
    }

    /// Ends and returns every open interaction (e.g. at shutdown).
    pub fn finish_all(&mut self) -> Vec<InteractionSummary> {
        let guids: Vec<String> = self.open.keys().cloned().collect();
        guids.iter().filter_map(|guid| self.finish(guid)).collect()
    }

    /// How many interactions are being followed.
    pub fn open_interactions(&self) -> usize {
        self.open.len()
    }

    fn remember_finished(&mut self, guid: &str) {
        if self.finished.insert(guid.to_string()) {
            self.finished_order.push_back(guid.to_string());
        }
        while self.finished_order.len() > FINISHED_MEMORY {
            if let Some(old) = self.finished_order.pop_front() {
                self.finished.remove(&old);
            }
        }
    }
}

impl Timeline {
    fn record(&mut self, event: &Interaction) {
        self.events += 1;
        if let Some(agent) = &event.agent_id {
            self.agent_id = Some(agent.clone());
        }
        if let Some(media) = &event.media_type {
            self.media_type = Some(media.clone());
        }
        if let Some(direction) = &event.direction {
            self.direction = Some(direction.clone());
        }
        if let Some(code) = &event.disposition_code {
            self.disposition_code = Some(code.clone());
        }
        if event.event == Some(T::Deleted) {
            self.hangup_initiator = event.hangup_initiator.clone();
            self.hangup_reason = event.call_hangup_reason.clone();
        }
        let Some(t) = event.time() else {
            return;
        };
        earliest(&mut self.first, t);
        if self.last.is_none_or(|last| t > last) {
            self.last = Some(t);
        }
        match &event.event {
            Some(T::Queued) => earliest(&mut self.queued, t),
            Some(T::Assigned) => self.assigned.push(t),
            Some(T::Accepted) if self.accepted.is_none_or(|old| t < old) => {
                self.accepted = Some(t);
                self.accepting_agent = event.agent_id.clone();
            }
            Some(T::CustomerAccepted) => earliest(&mut self.customer_accepted, t),
            Some(T::Rejected) => self.rejections += 1,
            Some(T::Unqueued | T::QueueTimeout) => earliest(&mut self.left_queue, t),
            Some(T::LineHoldStatus) => {
                if let Some(on) = event.on_hold() {
                    self.holds.push((t, on));
                }
            }
            Some(T::PostProcess) => earliest(&mut self.post_process, t),
            Some(T::EndPostProcess) => earliest(&mut self.end_post_process, t),
            Some(T::Deleted) => earliest(&mut self.deleted, t),
            _ => {}
        }
    }

    fn summary(mut self, interaction_guid: String) -> InteractionSummary {
        // The assignment that led to the answer: the last one before it.
        let answered_assignment = self.accepted.and_then(|accepted| {
            self.assigned
                .iter()
                .copied()
                .filter(|t| *t <= accepted)
                .max()
        });
        let queue_end = match self.accepted {
            Some(accepted) => answered_assignment.or(Some(accepted)),
            None => [self.left_queue, self.deleted].into_iter().flatten().min(),
        };
        let talk_start = self.customer_accepted.or(self.accepted);
        let talk_end = self.post_process.or(self.deleted);
        let talk_time = span(talk_start, talk_end);
        let hold_time = match (talk_start, talk_end, talk_time) {
            (Some(start), Some(end), Some(_)) => self.hold_time(start, end),
            _ => Duration::ZERO,
        };
        InteractionSummary {
            interaction_guid,
            media_type: self.media_type,
            direction: self.direction,
            agent_id: self.accepting_agent.or(self.agent_id),
            answered: self.accepted.is_some(),
            rejections: self.rejections,
            queue_time: span(self.queued, queue_end),
            ring_time: span(answered_assignment, self.accepted),
            talk_time,
            hold_time,
            wrap_up_time: span(self.post_process, self.end_post_process),
            hangup_initiator: self.hangup_initiator,
            hangup_reason: self.hangup_reason,
            disposition_code: self.disposition_code,
            started_at: self.first,
            ended_at: self.deleted,
            events: self.events,
        }
    }

    /// Sums hold spans, clipped to `[start, end]`.
    fn hold_time(&mut self, start: DateTime<Utc>, end: DateTime<Utc>) -> Duration {
        self.holds.sort_by_key(|(t, _)| *t);
        let mut total = Duration::ZERO;
        let mut held_since: Option<DateTime<Utc>> = None;
        for &(t, on) in &self.holds {
            let t = t.clamp(start, end);
            match (on, held_since) {
                (true, None) => held_since = Some(t),
                (false, Some(since)) => {
                    total += span(Some(since), Some(t)).unwrap_or_default();
                    held_since = None;
                }
                _ => {}
            }
        }
        if let Some(since) = held_since {
            total += span(Some(since), Some(end)).unwrap_or_default();
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn event(event: &str, ts: i64, extra: Value) -> EightByEightEvent {
        let mut body = json!({"event": event, "interactionGUID": "g", "interactionEventTS": ts});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        EightByEightEvent::from_json(json!({ "Interaction": body }))
    }

    #[test]
    fn abandoned_calls_count_queue_time_until_they_leave() {
        let mut tracker = InteractionTracker::new();
        assert!(tracker
            .observe(&event("InteractionQueued", 100, json!({})))
            .is_none());
        assert!(tracker
            .observe(&event("InteractionUnqueued", 130, json!({})))
            .is_none());
        let s = tracker
            .observe(&event(
                "InteractionDeleted",
                131,
                json!({"hangupInitiator": "CUSTOMER"}),
            ))
            .unwrap();
        assert!(!s.answered);
        assert_eq!(s.queue_time, Some(Duration::from_secs(30)));
        assert_eq!(s.talk_time, None);
        assert_eq!(s.hangup_initiator, Some(HangupInitiator::Customer));
        // A late event for a finished interaction does not reopen it.
        assert!(tracker
            .observe(&event("InteractionRecordingReady", 140, json!({})))
            .is_none());
        assert_eq!(tracker.open_interactions(), 0);
    }

    #[test]
    fn idle_and_open_interactions_can_be_flushed() {
        let mut tracker = InteractionTracker::new();
        tracker.observe(&event("InteractionQueued", 100, json!({})));
        assert!(tracker
            .finish_idle(DateTime::from_timestamp(100, 0).unwrap())
            .is_empty());
        let flushed = tracker.finish_idle(DateTime::from_timestamp(101, 0).unwrap());
        assert_eq!(flushed.len(), 1);
        tracker.observe(&event(
            "InteractionQueued",
            100,
            json!({"interactionGUID": "h"}),
        ));
        assert_eq!(tracker.finish_all().len(), 1);
        assert_eq!(tracker.open_interactions(), 0);
    }

    #[test]
    fn finished_memory_is_bounded() {
        let mut tracker = InteractionTracker::new();
        for i in 0..FINISHED_MEMORY + 10 {
            let guid = format!("g{i}");
            tracker.observe(&event(
                "InteractionDeleted",
                100,
                json!({"interactionGUID": guid}),
            ));
        }
        assert_eq!(tracker.finished.len(), FINISHED_MEMORY);
        assert_eq!(tracker.finished_order.len(), FINISHED_MEMORY);
    }
}
