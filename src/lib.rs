//! pulsar-eventstream (skeleton)
