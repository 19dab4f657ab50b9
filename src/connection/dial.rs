//! Dialing: URL building, credentials, TLS, the upgrade, and mapping of
//! handshake failures to typed errors (`protocol.md` §3.3).

use std::time::Duration;

use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, error::ProtocolError};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use url::Url;

use super::handshake;
use super::{EndpointKind, StreamSpec};
use crate::auth::redact_url;
use crate::client::ClientConfig;
use crate::error::{Error, Result};
use crate::message_id::MessageId;
use crate::topic::encode_component;

pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The endpoint URL without credentials; a reader resumes after `resume`.
pub(crate) fn stream_url(spec: &StreamSpec, resume: Option<&MessageId>) -> Result<Url> {
    let mut query: Vec<(&str, String)> = Vec::new();
    if let EndpointKind::Reader { start } = &spec.kind {
        let value = match resume {
            Some(id) => id.as_str().to_string(),
            None => start.query_value(),
        };
        query.push(("messageId", value));
    }
    query.extend(spec.query.iter().map(|(k, v)| (*k, v.clone())));
    build_url(&spec.client.inner.service_url, &spec.path, &query)
}

pub(crate) fn build_url(base: &Url, path: &str, query: &[(&str, String)]) -> Result<Url> {
    let mut text = base.as_str().trim_end_matches('/').to_string();
    text.push('/');
    text.push_str(path);
    for (i, (key, value)) in query.iter().enumerate() {
        text.push(if i == 0 { '?' } else { '&' });
        text.push_str(key);
        text.push('=');
        text.push_str(&encode_component(value));
    }
    Url::parse(&text).map_err(|e| Error::Config(format!("cannot build the endpoint URL: {e}")))
}

/// Fetches credentials, then connects and upgrades within the connect
/// timeout, with Nagle's algorithm off (acks are tiny frames).
pub(crate) async fn dial(config: &ClientConfig, url: Url) -> Result<Ws> {
    let credentials = config.credentials.credentials().await?;
    let mut extra_query = Vec::new();
    let mut headers = http::HeaderMap::new();
    credentials.apply(&mut headers, &mut extra_query)?;
    let mut url = url;
    if !extra_query.is_empty() {
        let mut text = url.to_string();
        for (key, value) in &extra_query {
            text.push(if text.contains('?') { '&' } else { '?' });
            text.push_str(key);
            text.push('=');
            text.push_str(&encode_component(value));
        }
        url = Url::parse(&text).map_err(|e| Error::Config(format!("bad URL: {e}")))?;
    }
    let shown = redact_url(&url);
    let tls = match (url.scheme(), &config.tls) {
        ("wss", Some(tls)) => Some(tls),
        ("ws", _) => None,
        _ => {
            return Err(Error::Config(format!(
                "cannot connect to {shown}: not a ws:// URL, nor a wss:// one with TLS set up"
            )))
        }
    };
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(config.max_message_size))
        .max_frame_size(Some(config.max_message_size));
    tracing::debug!(url = %shown, "connecting");
    let attempt = handshake::connect(&url, &headers, tls, ws_config);
    match tokio::time::timeout(config.connect_timeout, attempt).await {
        Err(_) => Err(Error::ConnectTimeout(config.connect_timeout)),
        Ok(Err(error)) => {
            tracing::debug!(url = %shown, %error, "connect failed");
            Err(error)
        }
        Ok(Ok(ws)) => Ok(ws),
    }
}

/// Maps a tungstenite error to this crate's error.
pub(crate) fn map_ws_error(error: tungstenite::Error) -> Error {
    use tungstenite::Error as E;
    match error {
        E::Io(io) => io_error(io),
        E::Tls(tls) => Error::Tls(tls.to_string()),
        E::ConnectionClosed | E::AlreadyClosed => Error::Closed {
            code: 1006,
            reason: "connection closed".into(),
        },
        E::Protocol(ProtocolError::ResetWithoutClosingHandshake) => Error::Closed {
            code: 1006,
            reason: "connection dropped without a close frame".into(),
        },
        E::Capacity(e) => Error::FrameTooLarge(e.to_string()),
        E::Url(e) => Error::Config(format!("unusable URL: {e}")),
        E::HttpFormat(e) => Error::Protocol(format!("bad HTTP in the handshake: {e}")),
        other => Error::Protocol(other.to_string()),
    }
}

/// TLS failures during the handshake surface as I/O errors wrapping a
/// rustls error: report them as TLS errors. A reset is an abnormal close.
pub(super) fn io_error(io: std::io::Error) -> Error {
    let tls = io
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .map(|e| e.to_string());
    use std::io::ErrorKind;
    match tls {
        Some(message) => Error::Tls(message),
        // The peer went away without a Close frame: WebSocket's 1006.
        None if matches!(
            io.kind(),
            ErrorKind::UnexpectedEof
                | ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::BrokenPipe
        ) =>
        {
            Error::Closed {
                code: 1006,
                reason: format!("connection dropped without a close frame ({io})"),
            }
        }
        None => Error::from(io),
    }
}

/// The readable text of an error page: tags stripped, whitespace folded,
/// at most 512 characters (Jetty answers with a small HTML page).
pub(crate) fn error_text(body: &[u8]) -> String {
    let raw = String::from_utf8_lossy(&body[..body.len().min(16 * 1024)]);
    let mut text = String::new();
    let mut in_tag = false;
    for c in raw.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    let folded: Vec<&str> = text.split_whitespace().collect();
    folded.join(" ").chars().take(512).collect()
}

/// How long a connection must stay up before the reconnect attempt counter
/// starts again from 1.
pub(crate) const HEALTHY_AFTER: Duration = Duration::from_secs(30);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_text_strips_html() {
        let page = b"<html><head><title>Error 409 Conflict</title></head><body><h2>HTTP ERROR 409</h2>\n<p>Failed to subscribe: Exclusive consumer is already connected</p></body></html>";
        assert_eq!(
            error_text(page),
            "Error 409 Conflict HTTP ERROR 409 Failed to subscribe: Exclusive consumer is already connected"
        );
        assert_eq!(error_text(b"plain"), "plain");
    }

    #[test]
    fn builds_encoded_urls() {
        let base = Url::parse("ws://127.0.0.1:8080/prefix").unwrap();
        let url = build_url(
            &base,
            "ws/v2/reader/persistent/t/n/a",
            &[("messageId", "CAM+/w==".into())],
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "ws://127.0.0.1:8080/prefix/ws/v2/reader/persistent/t/n/a?messageId=CAM%2B%2Fw%3D%3D"
        );
    }
}
