//! The status line on stderr: shown only when stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Redraws `events, events/s, reconnects` at most twice a second.
pub struct Progress {
    enabled: bool,
    started: Instant,
    last_draw: Instant,
}

impl Progress {
    pub fn new() -> Self {
        let now = Instant::now();
        Progress {
            enabled: std::io::stderr().is_terminal(),
            started: now,
            last_draw: now,
        }
    }

    pub fn update(&mut self, printed: u64, reconnects: u64, force: bool) {
        if !self.enabled || (!force && self.last_draw.elapsed() < Duration::from_millis(500)) {
            return;
        }
        self.last_draw = Instant::now();
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = printed as f64 / secs;
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2Ktail: {printed} events, {rate:.0}/s, {reconnects} reconnects"
        );
        let _ = err.flush();
    }

    pub fn finish(&mut self, printed: u64, reconnects: u64) {
        if self.enabled {
            self.update(printed, reconnects, true);
            eprintln!();
        }
    }
}
