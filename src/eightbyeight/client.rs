//! [`Client::builder_8x8`]: a client builder set up for 8x8 Event Streaming.

use std::time::Duration;

use super::region::Region;
use crate::auth::Secret;
use crate::client::{Client, ClientBuilder, DEFAULT_PING_INTERVAL};

/// The connect and handshake timeout 8x8 recommends: 45 s (raise it to 60 s
/// or more on slow networks with
/// [`ClientBuilder::connect_timeout`]).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(45);

impl Client {
    /// A builder for 8x8 Event Streaming in `region`: the region's `wss://`
    /// host, the API key (an Admin Console `eght_…` key or a Contact Center
    /// token) in the `X-API-Key` header, a 45 s handshake timeout and client
    /// pings every 30 s. Anything can still be changed before
    /// [`build`](ClientBuilder::build), which reports any problem.
    ///
    /// The key is not put in the URL; add
    /// [`api_key_in_query(true)`](ClientBuilder::api_key_in_query) for a
    /// gateway that reads only `?x-api-key=`.
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// use pulsar_eventstream::eightbyeight::{Region, Topics};
    /// use pulsar_eventstream::{Client, Position};
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let region = Region::from_cluster("NA7")?; // from vcc-na7.8x8.com
    /// let client = Client::builder_8x8(region, std::env::var("PULSAR_API_KEY")?).build()?;
    /// let mut events = client
    ///     .reader(Topics::new("my-tenant").all()?)
    ///     .position(Position::Earliest)
    ///     .subscribe()
    ///     .await?;
    /// while let Some(event) = events.try_next().await? {
    ///     let event = event.eightbyeight()?;
    ///     println!("{} at {:?}", event.name(), event.time());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn builder_8x8(region: Region, api_key: impl Into<Secret>) -> ClientBuilder {
        Client::builder(region.service_url())
            .api_key(api_key)
            .connect_timeout(HANDSHAKE_TIMEOUT)
            .ping_interval(Some(DEFAULT_PING_INTERVAL))
    }
}
