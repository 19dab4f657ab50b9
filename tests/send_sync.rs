//! The types users share across tasks are `Send + Sync` (checked at compile
//! time: this file does not build otherwise), and `'static` where handles
//! must outlive their stream.

use pulsar_eventstream::testing::MockPulsar;
use pulsar_eventstream::*;

const fn send_sync<T: Send + Sync>() {}
const fn send_sync_static<T: Send + Sync + 'static>() {}

const _: () = {
    send_sync::<Client>();
    send_sync::<ClientBuilder>();
    send_sync::<ReaderBuilder>();
    send_sync::<ConsumerBuilder>();
    send_sync::<EventStream>();
    send_sync::<Event>();
    send_sync::<Error>();
    send_sync::<MessageId>();
    send_sync::<Topic>();
    send_sync::<Credentials>();
    send_sync::<MockPulsar>();
    send_sync_static::<AckHandle>();
};

#[test]
fn futures_of_the_api_are_send() {
    fn is_send<T: Send>(_: &T) {}
    let client = Client::builder("ws://127.0.0.1:1").build().unwrap();
    let topic: Topic = "persistent://t/n/x".parse().unwrap();
    is_send(&client.reader(topic.clone()).subscribe());
    is_send(&client.consumer(topic, "s").subscribe());
}
