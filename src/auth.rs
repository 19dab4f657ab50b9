//! Credentials, the provider called before every connect, and redaction.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use base64::Engine as _;
use futures::future::BoxFuture;
use http::{HeaderName, HeaderValue};

use crate::error::{Error, Result};

/// A string that never shows itself in `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into().into())
    }

    /// The secret itself, for sending it. Never log this.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret::new(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret::new(s)
    }
}

/// What the client presents to the server on every connect.
///
/// 8x8 Event Streaming takes an API key in the `X-API-Key` header; plain
/// Pulsar takes a JWT as `Authorization: Bearer`. Several kinds can be
/// combined. `Debug` shows which are set, never their values.
///
/// ```
/// use pulsar_eventstream::Credentials;
///
/// let creds = Credentials::api_key("eght_secret");
/// assert!(!format!("{creds:?}").contains("eght_secret"));
/// ```
#[derive(Clone, Default)]
pub struct Credentials {
    api_key: Option<Secret>,
    api_key_in_query: bool,
    token: Option<Secret>,
    token_in_query: bool,
    basic: Option<(String, Secret)>,
    headers: Vec<(String, Secret)>,
}

impl Credentials {
    /// No credentials.
    pub fn none() -> Self {
        Self::default()
    }

    /// An 8x8 API key (Admin Console `eght_…` key or Contact Center token),
    /// sent as the `X-API-Key` header.
    pub fn api_key(key: impl Into<Secret>) -> Self {
        Credentials {
            api_key: Some(key.into()),
            ..Self::default()
        }
    }

    /// A Pulsar token (JWT), sent as `Authorization: Bearer <token>`.
    pub fn token(token: impl Into<Secret>) -> Self {
        Credentials {
            token: Some(token.into()),
            ..Self::default()
        }
    }

    /// HTTP basic credentials, sent as `Authorization: Basic …`.
    pub fn basic(user: impl Into<String>, password: impl Into<Secret>) -> Self {
        Credentials {
            basic: Some((user.into(), password.into())),
            ..Self::default()
        }
    }

    /// Adds an API key to these credentials.
    pub fn with_api_key(mut self, key: impl Into<Secret>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Adds a bearer token to these credentials.
    pub fn with_token(mut self, token: impl Into<Secret>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Adds HTTP basic credentials to these credentials.
    pub fn with_basic(mut self, user: impl Into<String>, password: impl Into<Secret>) -> Self {
        self.basic = Some((user.into(), password.into()));
        self
    }

    /// Also sends the API key as the `x-api-key` query parameter, for gateways
    /// that only read the query (browsers cannot set headers). Off by default:
    /// query strings end up in access logs.
    pub fn api_key_in_query(mut self, on: bool) -> Self {
        self.api_key_in_query = on;
        self
    }

    /// Sends the token as the `token` query parameter instead of the
    /// `Authorization` header (Pulsar reads it when the header is absent).
    pub fn token_in_query(mut self, on: bool) -> Self {
        self.token_in_query = on;
        self
    }

    /// Adds a header sent on every handshake. Its value is treated as secret.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<Secret>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Checks that every header name and value can be sent.
    pub(crate) fn validate(&self) -> Result<()> {
        let mut req = http::Request::new(());
        let mut query = Vec::new();
        self.apply(req.headers_mut(), &mut query)
    }

    /// Adds these credentials to a handshake's headers and query.
    pub(crate) fn apply(
        &self,
        headers: &mut http::HeaderMap,
        query: &mut Vec<(&'static str, String)>,
    ) -> Result<()> {
        fn sensitive(value: &str, what: &str) -> Result<HeaderValue> {
            let mut v = HeaderValue::from_str(value).map_err(|_| {
                Error::Config(format!(
                    "{what} contains characters not allowed in a header"
                ))
            })?;
            v.set_sensitive(true);
            Ok(v)
        }
        if let Some(key) = &self.api_key {
            headers.insert("x-api-key", sensitive(key.expose(), "the API key")?);
            if self.api_key_in_query {
                query.push(("x-api-key", key.expose().to_string()));
            }
        }
        if let Some(token) = &self.token {
            if self.token_in_query {
                query.push(("token", token.expose().to_string()));
            } else {
                let value = format!("Bearer {}", token.expose());
                headers.insert(http::header::AUTHORIZATION, sensitive(&value, "the token")?);
            }
        }
        if let Some((user, password)) = &self.basic {
            let raw = format!("{user}:{}", password.expose());
            let value = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            );
            headers.insert(
                http::header::AUTHORIZATION,
                sensitive(&value, "the basic credentials")?,
            );
        }
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::Config(format!("invalid header name {name:?}")))?;
            let value = sensitive(value.expose(), &format!("the value of header {name}"))?;
            headers.append(name, value);
        }
        Ok(())
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Credentials");
        if self.api_key.is_some() {
            d.field("api_key", &"<redacted>");
            d.field("api_key_in_query", &self.api_key_in_query);
        }
        if self.token.is_some() {
            d.field("token", &"<redacted>");
            d.field("token_in_query", &self.token_in_query);
        }
        if let Some((user, _)) = &self.basic {
            d.field("basic_user", user);
            d.field("basic_password", &"<redacted>");
        }
        if !self.headers.is_empty() {
            let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
            d.field("headers", &names);
        }
        d.finish()
    }
}

/// Supplies credentials before every connect and reconnect, so that
/// short-lived tokens can be refreshed.
///
/// Implemented for [`Credentials`] (static) and for any closure returning a
/// future of `Result<Credentials>`:
///
/// ```
/// use pulsar_eventstream::{Client, Credentials};
///
/// let client = Client::builder("wss://pulsar.example.com")
///     .credentials_provider(|| async {
///         // e.g. fetch a fresh OAuth token here
///         Ok(Credentials::token("fresh-jwt"))
///     })
///     .build()?;
/// # Ok::<(), pulsar_eventstream::Error>(())
/// ```
pub trait CredentialsProvider: Send + Sync + 'static {
    /// Returns the credentials for the next connection attempt.
    fn credentials(&self) -> BoxFuture<'static, Result<Credentials>>;
}

impl CredentialsProvider for Credentials {
    fn credentials(&self) -> BoxFuture<'static, Result<Credentials>> {
        let creds = self.clone();
        Box::pin(async move { Ok(creds) })
    }
}

impl<F, Fut> CredentialsProvider for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Credentials>> + Send + 'static,
{
    fn credentials(&self) -> BoxFuture<'static, Result<Credentials>> {
        Box::pin(self())
    }
}

/// The query parameter names that can carry a secret.
const SECRET_QUERY_KEYS: [&str; 2] = ["x-api-key", "token"];

/// Renders a URL for logs and errors with secret query values replaced.
pub(crate) fn redact_url(url: &url::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_password(None);
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if SECRET_QUERY_KEYS.contains(&k.as_ref()) {
                    "REDACTED".to_string()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        shown.query_pairs_mut().clear().extend_pairs(pairs);
    }
    shown.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let creds = Credentials::api_key("k-secret-1")
            .with_token("t-secret-2")
            .with_header("X-Custom", "h-secret-3");
        let basic = Credentials::basic("user", "p-secret-4");
        let shown = format!(
            "{creds:?} {basic:?} {:?} {}",
            Secret::new("s-5"),
            Secret::new("s-6")
        );
        for secret in [
            "k-secret-1",
            "t-secret-2",
            "h-secret-3",
            "p-secret-4",
            "s-5",
            "s-6",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("user"));
    }

    #[test]
    fn applies_headers_and_query() {
        let creds = Credentials::api_key("k")
            .api_key_in_query(true)
            .with_token("t");
        let mut headers = http::HeaderMap::new();
        let mut query = Vec::new();
        creds.apply(&mut headers, &mut query).unwrap();
        assert_eq!(headers["x-api-key"], "k");
        assert_eq!(headers["authorization"], "Bearer t");
        assert_eq!(query, vec![("x-api-key", "k".to_string())]);
        assert!(format!("{headers:?}").contains("Sensitive"));
    }

    #[test]
    fn rejects_unsendable_values() {
        let creds = Credentials::api_key("bad\nkey");
        match creds.validate() {
            Err(Error::Config(msg)) => assert!(!msg.contains("bad\nkey")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn redacts_urls() {
        let url = url::Url::parse(
            "wss://h/ws/v2/reader/persistent/t/n/a?messageId=latest&x-api-key=SECRET&token=T0K",
        )
        .unwrap();
        let shown = redact_url(&url);
        assert!(
            !shown.contains("SECRET") && !shown.contains("T0K"),
            "{shown}"
        );
        assert!(shown.contains("messageId=latest"));
    }
}
