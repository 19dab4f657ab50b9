//! `Client` and its builder: where to connect, with which credentials, TLS
//! roots, timeouts and keepalive. Cheap to clone; shared by every stream.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::auth::{redact_url, Credentials, CredentialsProvider, Secret};
use crate::connection_event::{ConnectionCallback, ConnectionEvent};
use crate::consumer::ConsumerBuilder;
use crate::error::{Error, Result};
use crate::reader::ReaderBuilder;
use crate::reconnect::{ExponentialBackoff, ReconnectPolicy};
use crate::tls::{self, TlsRoots};
use crate::topic::Topic;

/// Default time allowed for TCP connect, TLS and the WebSocket upgrade. The
/// proxy creates its Pulsar consumer before it answers the upgrade, which can
/// take up to its own 30 s operation timeout (`protocol.md` §3).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(45);
/// Default interval between client pings: well under the proxy's 5 minute
/// idle timeout.
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(30);
/// Default time to wait for any frame after a ping before the connection is
/// considered dead.
pub const DEFAULT_PONG_TIMEOUT: Duration = Duration::from_secs(20);
/// Default largest message accepted from the server: a 5 MB Pulsar message
/// after base64 and its JSON envelope.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 8 << 20;

/// A handle to one Pulsar WebSocket service. Cheap to clone, `Send + Sync`;
/// streams made from it share its configuration.
///
/// ```no_run
/// use futures::TryStreamExt;
/// use pulsar_eventstream::{Client, Position};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::builder("wss://pulsar-ws-euw2.8x8.com")
///     .api_key(std::env::var("PULSAR_API_KEY")?)
///     .build()?;
/// let mut events = client
///     .reader("persistent://my-tenant/event-v1/all".parse()?)
///     .position(Position::Earliest)
///     .subscribe()
///     .await?;
/// while let Some(event) = events.try_next().await? {
///     println!("{}", event.text()?);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<ClientConfig>,
}

/// The validated configuration behind a [`Client`].
pub(crate) struct ClientConfig {
    pub(crate) service_url: Url,
    pub(crate) credentials: Arc<dyn CredentialsProvider>,
    pub(crate) connect_timeout: Duration,
    pub(crate) ping_interval: Option<Duration>,
    pub(crate) pong_timeout: Duration,
    pub(crate) close_timeout: Duration,
    pub(crate) max_message_size: usize,
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
    pub(crate) danger_accept_invalid_certificates: bool,
    pub(crate) reconnect: Arc<dyn ReconnectPolicy>,
    pub(crate) on_connection_event: Option<ConnectionCallback>,
}

impl Client {
    /// Starts configuring a client for a service URL such as
    /// `wss://pulsar-ws-euw2.8x8.com` or `ws://127.0.0.1:8080`. A path prefix
    /// is kept (`https://gateway/pulsar` → `wss://gateway/pulsar/ws/v2/…`).
    pub fn builder(service_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            service_url: service_url.into(),
            credentials: Credentials::none(),
            provider: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            ping_interval: Some(DEFAULT_PING_INTERVAL),
            pong_timeout: DEFAULT_PONG_TIMEOUT,
            close_timeout: Duration::from_secs(5),
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            tls_roots: TlsRoots::default(),
            extra_roots: Vec::new(),
            danger_accept_invalid_certificates: false,
            reconnect: Arc::new(ExponentialBackoff::default()),
            on_connection_event: None,
        }
    }

    /// Configures a reader: no subscription, you choose where to start.
    ///
    /// ```no_run
    /// # use pulsar_eventstream::{Client, Position};
    /// # async fn run(client: Client) -> pulsar_eventstream::Result<()> {
    /// let events = client
    ///     .reader("persistent://public/default/orders".parse()?)
    ///     .position(Position::Earliest)
    ///     .subscribe()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn reader(&self, topic: Topic) -> ReaderBuilder {
        ReaderBuilder::new(self.clone(), topic)
    }

    /// Configures a consumer on a durable subscription: the broker keeps the
    /// position and redelivers what was not acknowledged.
    ///
    /// ```no_run
    /// # use pulsar_eventstream::{Client, SubscriptionType};
    /// # async fn run(client: Client) -> pulsar_eventstream::Result<()> {
    /// let events = client
    ///     .consumer("persistent://public/default/orders".parse()?, "billing")
    ///     .subscription_type(SubscriptionType::Shared)
    ///     .subscribe()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn consumer(&self, topic: Topic, subscription: impl Into<String>) -> ConsumerBuilder {
        ConsumerBuilder::new(self.clone(), topic, subscription.into())
    }

    /// A consumer on several topics at once through the server's multi-topic
    /// endpoint (`/ws/v3/consumer/{subscription}?topics=…`, Pulsar 3.2+; served
    /// by the standalone and the broker-embedded WebSocket service, checked on
    /// 4.0.7). Its events carry no topic: the server
    /// does not say. Where that endpoint is missing, subscribe per topic and
    /// use [`EventStream::merge`](crate::EventStream::merge).
    pub fn multi_topic_consumer(
        &self,
        topics: impl IntoIterator<Item = Topic>,
        subscription: impl Into<String>,
    ) -> ConsumerBuilder {
        ConsumerBuilder::multi(
            self.clone(),
            topics.into_iter().collect(),
            subscription.into(),
        )
    }

    /// A consumer on every topic matching a regular expression
    /// (`/ws/v3/consumer/{subscription}?topicsPattern=…`).
    pub fn pattern_consumer(
        &self,
        pattern: impl Into<String>,
        subscription: impl Into<String>,
    ) -> ConsumerBuilder {
        ConsumerBuilder::pattern(self.clone(), pattern.into(), subscription.into())
    }

    /// The service URL, with any secret redacted.
    pub fn service_url(&self) -> String {
        redact_url(&self.inner.service_url)
            .trim_end_matches('/')
            .to_string()
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.inner;
        f.debug_struct("Client")
            .field("service_url", &redact_url(&c.service_url))
            .field("connect_timeout", &c.connect_timeout)
            .field("ping_interval", &c.ping_interval)
            .field("tls", &c.tls.is_some())
            .field(
                "danger_accept_invalid_certificates",
                &c.danger_accept_invalid_certificates,
            )
            .finish_non_exhaustive()
    }
}

/// Builds a [`Client`]. Every option is checked by [`build`](Self::build),
/// so a bad URL or header fails there and not on the first connect.
pub struct ClientBuilder {
    service_url: String,
    credentials: Credentials,
    provider: Option<Arc<dyn CredentialsProvider>>,
    connect_timeout: Duration,
    ping_interval: Option<Duration>,
    pong_timeout: Duration,
    close_timeout: Duration,
    max_message_size: usize,
    tls_roots: TlsRoots,
    extra_roots: Vec<tls::ExtraRoot>,
    danger_accept_invalid_certificates: bool,
    reconnect: Arc<dyn ReconnectPolicy>,
    on_connection_event: Option<ConnectionCallback>,
}

impl ClientBuilder {
    /// Sends an 8x8 API key as the `X-API-Key` header.
    ///
    /// ```
    /// # use pulsar_eventstream::Client;
    /// let client = Client::builder("wss://pulsar-ws-euw2.8x8.com")
    ///     .api_key("eght_...")
    ///     .build()?;
    /// # Ok::<(), pulsar_eventstream::Error>(())
    /// ```
    pub fn api_key(mut self, key: impl Into<Secret>) -> Self {
        self.credentials = self.credentials.with_api_key(key);
        self
    }

    /// Also sends the API key as the `x-api-key` query parameter (off by
    /// default; query strings end up in access logs).
    pub fn api_key_in_query(mut self, on: bool) -> Self {
        self.credentials = self.credentials.api_key_in_query(on);
        self
    }

    /// Sends a Pulsar token as `Authorization: Bearer <token>`.
    ///
    /// ```
    /// # use pulsar_eventstream::Client;
    /// let client = Client::builder("ws://127.0.0.1:8080").token("eyJ...").build()?;
    /// # Ok::<(), pulsar_eventstream::Error>(())
    /// ```
    pub fn token(mut self, token: impl Into<Secret>) -> Self {
        self.credentials = self.credentials.with_token(token);
        self
    }

    /// Sends HTTP basic credentials.
    pub fn basic_auth(mut self, user: impl Into<String>, password: impl Into<Secret>) -> Self {
        self.credentials = self.credentials.with_basic(user, password);
        self
    }

    /// Sends an extra header on every handshake (its value is never logged).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Secret>) -> Self {
        self.credentials = self.credentials.with_header(name, value);
        self
    }

    /// Uses these credentials (replacing any set before).
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// Asks `provider` for credentials before every connect and reconnect,
    /// instead of using static ones: see [`CredentialsProvider`].
    pub fn credentials_provider(mut self, provider: impl CredentialsProvider) -> Self {
        self.provider = Some(Arc::new(provider));
        self
    }

    /// Time allowed for TCP connect, TLS and the WebSocket upgrade
    /// (default 45 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Interval between client pings (default 30 s); `None` turns pings off.
    pub fn ping_interval(mut self, interval: Option<Duration>) -> Self {
        self.ping_interval = interval;
        self
    }

    /// How long to wait for any frame after a ping before the connection is
    /// declared dead (default 20 s).
    pub fn pong_timeout(mut self, timeout: Duration) -> Self {
        self.pong_timeout = timeout;
        self
    }

    /// How long `close()` waits for the server's Close frame (default 5 s).
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// Largest WebSocket message accepted from the server (default 8 MiB).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Which root certificates to trust for `wss://` (default: the bundled
    /// Mozilla roots).
    pub fn tls_roots(mut self, roots: TlsRoots) -> Self {
        self.tls_roots = roots;
        self
    }

    /// Also trusts this root certificate (DER), e.g. a private CA.
    pub fn add_root_certificate_der(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.extra_roots.push(tls::ExtraRoot::Der(der.into()));
        self
    }

    /// Also trusts the root certificates in this PEM text.
    pub fn add_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.extra_roots.push(tls::ExtraRoot::Pem(pem.into()));
        self
    }

    /// **Dangerous:** turns TLS certificate verification off for `wss://`
    /// (default `false`). Any certificate is accepted, expired, self-signed,
    /// for another host or from an unknown authority, so anyone on the path
    /// can impersonate the server, read the API key or token sent to it and
    /// feed the application forged events. Meant for a throw-away test
    /// server only; for a private CA use
    /// [`add_root_certificate_pem`](Self::add_root_certificate_pem) instead.
    /// `build()` logs a warning when it is on, and the client's `Debug`
    /// says so.
    ///
    /// ```
    /// # use pulsar_eventstream::Client;
    /// let client = Client::builder("wss://127.0.0.1:8443")
    ///     .danger_accept_invalid_certificates(true) // test server only!
    ///     .build()?;
    /// # Ok::<(), pulsar_eventstream::Error>(())
    /// ```
    pub fn danger_accept_invalid_certificates(mut self, accept: bool) -> Self {
        self.danger_accept_invalid_certificates = accept;
        self
    }

    /// How streams reconnect after a lost connection (default:
    /// [`ExponentialBackoff`] from 100 ms to 30 s with full jitter, no limit
    /// on attempts). Streams can override it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use pulsar_eventstream::{Client, FixedDelay};
    ///
    /// let client = Client::builder("ws://127.0.0.1:8080")
    ///     .reconnect_policy(FixedDelay::new(Duration::from_secs(1)))
    ///     .build()?;
    /// # Ok::<(), pulsar_eventstream::Error>(())
    /// ```
    pub fn reconnect_policy(mut self, policy: impl ReconnectPolicy) -> Self {
        self.reconnect = Arc::new(policy);
        self
    }

    /// Calls `callback` on every connection change of every stream of this
    /// client (connected, lost, reconnecting, gave up). It runs on the
    /// stream's task: keep it short.
    ///
    /// ```
    /// use pulsar_eventstream::{Client, ConnectionEvent};
    ///
    /// let client = Client::builder("ws://127.0.0.1:8080")
    ///     .on_connection_event(|event: &ConnectionEvent| eprintln!("{event:?}"))
    ///     .build()?;
    /// # Ok::<(), pulsar_eventstream::Error>(())
    /// ```
    pub fn on_connection_event(
        mut self,
        callback: impl Fn(&ConnectionEvent) + Send + Sync + 'static,
    ) -> Self {
        self.on_connection_event = Some(Arc::new(callback));
        self
    }

    /// Validates everything and builds the client.
    pub fn build(self) -> Result<Client> {
        let service_url = parse_service_url(&self.service_url)?;
        if self.connect_timeout.is_zero() {
            return Err(Error::Config("connect_timeout must be positive".into()));
        }
        if self.ping_interval.is_some_and(|d| d.is_zero()) || self.pong_timeout.is_zero() {
            return Err(Error::Config(
                "ping_interval and pong_timeout must be positive".into(),
            ));
        }
        if self.max_message_size < 1024 {
            return Err(Error::Config(
                "max_message_size must be at least 1 KiB".into(),
            ));
        }
        self.credentials.validate()?;
        let tls = match service_url.scheme() {
            "wss" => Some(tls::client_config(
                self.tls_roots,
                &self.extra_roots,
                self.danger_accept_invalid_certificates,
            )?),
            _ => None,
        };
        let credentials: Arc<dyn CredentialsProvider> = match self.provider {
            Some(provider) => provider,
            None => Arc::new(self.credentials),
        };
        Ok(Client {
            inner: Arc::new(ClientConfig {
                service_url,
                credentials,
                connect_timeout: self.connect_timeout,
                ping_interval: self.ping_interval,
                pong_timeout: self.pong_timeout,
                close_timeout: self.close_timeout,
                max_message_size: self.max_message_size,
                tls,
                danger_accept_invalid_certificates: self.danger_accept_invalid_certificates,
                reconnect: self.reconnect,
                on_connection_event: self.on_connection_event,
            }),
        })
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = Url::parse(&self.service_url)
            .map(|u| redact_url(&u))
            .unwrap_or_else(|_| "<unparsed>".into());
        f.debug_struct("ClientBuilder")
            .field("service_url", &shown)
            .field("credentials", &self.credentials)
            .field("connect_timeout", &self.connect_timeout)
            .field("ping_interval", &self.ping_interval)
            .field(
                "danger_accept_invalid_certificates",
                &self.danger_accept_invalid_certificates,
            )
            .finish_non_exhaustive()
    }
}

fn parse_service_url(raw: &str) -> Result<Url> {
    let mut url = Url::parse(raw.trim()).map_err(|e| {
        Error::Config(format!(
            "service URL is not a valid URL ({e}); expected e.g. wss://host or ws://127.0.0.1:8080"
        ))
    })?;
    let scheme = match url.scheme() {
        "ws" | "http" => "ws",
        "wss" | "https" => "wss",
        other => {
            return Err(Error::Config(format!(
                "service URL scheme {other:?} is not supported; use ws, wss, http or https"
            )))
        }
    };
    url.set_scheme(scheme)
        .map_err(|_| Error::Config("cannot use this URL scheme".into()))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::Config("service URL has no host".into()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::Config(
            "service URL must not carry credentials; use basic_auth() or token()".into(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::Config(
            "service URL must not have a query or fragment".into(),
        ));
    }
    let path = url.path().trim_end_matches('/').to_string();
    url.set_path(&path);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_service_urls() {
        let url = |s| parse_service_url(s).map(|u| u.to_string());
        assert_eq!(url("ws://127.0.0.1:8080").unwrap(), "ws://127.0.0.1:8080/");
        assert_eq!(
            url("https://gw.example.com/pulsar/").unwrap(),
            "wss://gw.example.com/pulsar"
        );
        assert!(matches!(url("ftp://x"), Err(Error::Config(_))));
        assert!(matches!(url("not a url"), Err(Error::Config(_))));
        assert!(matches!(url("wss://u:p@host"), Err(Error::Config(_))));
        assert!(matches!(url("wss://host/?x=1"), Err(Error::Config(_))));
    }

    #[test]
    fn build_reports_bad_options() {
        assert!(Client::builder("ws://h")
            .connect_timeout(Duration::ZERO)
            .build()
            .is_err());
        assert!(Client::builder("ws://h")
            .header("bad name", "v")
            .build()
            .is_err());
        assert!(Client::builder("wss://h").build().is_ok());
    }

    #[test]
    fn debug_redacts() {
        let client = Client::builder("ws://h")
            .api_key("SECRET-KEY")
            .token("SECRET-TOKEN");
        let shown = format!("{client:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        let client = client.build().unwrap();
        assert!(!format!("{client:?}").contains("SECRET"));
    }
}
