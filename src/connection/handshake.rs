//! TCP, TLS and the WebSocket upgrade (RFC 6455 §4.1).
//!
//! Done here rather than by tungstenite's client handshake, which logs the
//! whole request, credential headers and query included, at TRACE through
//! the `log` facade, and keeps of a refused upgrade's body only the bytes
//! that arrived together with its head. Here nothing of the request is
//! logged; the response head is bounded ([`MAX_HEAD`], 124 headers); a
//! refused upgrade's body is read up to [`MAX_ERROR_BODY`] (or its
//! `Content-Length`) for at most [`ERROR_BODY_WAIT`]. The caller bounds the
//! whole attempt with the connect timeout.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use url::{Host, Url};

use super::dial::{error_text, io_error, Ws};
use crate::error::{Error, Result};

/// Largest response head (status line and headers) accepted.
pub(crate) const MAX_HEAD: usize = 64 * 1024;
/// Most headers a response head may have.
const MAX_HEADERS: usize = 124;
/// Most bytes of a refused upgrade's body read (for the error message).
pub(crate) const MAX_ERROR_BODY: usize = 16 * 1024;
/// Longest wait for a refused upgrade's body after its head.
pub(crate) const ERROR_BODY_WAIT: Duration = Duration::from_secs(2);

/// Connects to `url` (`ws://` or `wss://`), with Nagle's algorithm off, and
/// upgrades with `headers` added to the request.
pub(crate) async fn connect(
    url: &Url,
    headers: &http::HeaderMap,
    tls: Option<&Arc<rustls::ClientConfig>>,
    config: WebSocketConfig,
) -> Result<Ws> {
    let host = url
        .host()
        .ok_or_else(|| Error::Config("the service URL has no host".into()))?;
    let port = url
        .port_or_known_default()
        .ok_or_else(|| Error::Config("the service URL has no port".into()))?;
    let tcp = match &host {
        Host::Domain(name) => TcpStream::connect((*name, port)).await,
        Host::Ipv4(ip) => TcpStream::connect((*ip, port)).await,
        Host::Ipv6(ip) => TcpStream::connect((*ip, port)).await,
    }
    .map_err(io_error)?;
    // Acks are tiny frames: never hold them back (design.md, "The socket").
    let _ = tcp.set_nodelay(true);
    let mut stream = match tls {
        None => MaybeTlsStream::Plain(tcp),
        Some(tls) => {
            let name = match &host {
                Host::Domain(name) => ServerName::try_from(name.to_string())
                    .map_err(|e| Error::Config(format!("invalid TLS server name: {e}")))?,
                Host::Ipv4(ip) => ServerName::IpAddress(IpAddr::V4(*ip).into()),
                Host::Ipv6(ip) => ServerName::IpAddress(IpAddr::V6(*ip).into()),
            };
            let connector = tokio_rustls::TlsConnector::from(tls.clone());
            MaybeTlsStream::Rustls(connector.connect(name, tcp).await.map_err(io_error)?)
        }
    };
    let tail = upgrade(&mut stream, url, headers).await?;
    Ok(WebSocketStream::from_partially_read(stream, tail, Role::Client, Some(config)).await)
}

/// Sends the upgrade request and reads the answer. Returns the bytes read
/// past the response head (the first WebSocket frames).
pub(crate) async fn upgrade<S>(
    stream: &mut S,
    url: &Url,
    headers: &http::HeaderMap,
) -> Result<Vec<u8>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let key = generate_key();
    stream
        .write_all(&request(url, headers, &key))
        .await
        .map_err(io_error)?;
    stream.flush().await.map_err(io_error)?;

    let mut buf = Vec::with_capacity(4096);
    let head = loop {
        if let Some(head) = parse_head(&buf)? {
            break head;
        }
        if buf.len() >= MAX_HEAD {
            return Err(Error::Protocol(format!(
                "the server's handshake response head exceeds {} KiB",
                MAX_HEAD / 1024
            )));
        }
        if read_some(stream, &mut buf, MAX_HEAD).await? == 0 {
            return Err(Error::Closed {
                code: 1006,
                reason: "connection closed during the WebSocket handshake".into(),
            });
        }
    };
    let mut tail = buf.split_off(head.len);

    if head.status != 101 {
        let limit = head
            .content_length
            .map_or(MAX_ERROR_BODY, |n| n.min(MAX_ERROR_BODY as u64) as usize);
        tail.truncate(limit);
        // A chunked body ends with its last chunk, not with the connection.
        let complete = |tail: &[u8]| head.chunked && dechunk(tail).1;
        let _ = tokio::time::timeout(ERROR_BODY_WAIT, async {
            while tail.len() < limit && !complete(&tail) {
                match read_some(stream, &mut tail, limit).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
        if head.chunked {
            tail = dechunk(&tail).0;
        }
        return Err(Error::from_status(head.status, error_text(&tail)));
    }
    let refuse = |what: &str| Err(Error::Protocol(format!("bad WebSocket upgrade: {what}")));
    if !head
        .upgrade
        .as_deref()
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("websocket"))
    {
        return refuse("no `Upgrade: websocket` header");
    }
    if !head.connection.as_deref().is_some_and(|v| {
        v.split(',')
            .any(|token| token.trim().eq_ignore_ascii_case("upgrade"))
    }) {
        return refuse("no `Connection: Upgrade` header");
    }
    if head.accept.as_deref() != Some(derive_accept_key(key.as_bytes()).as_str()) {
        return refuse("wrong `Sec-WebSocket-Accept`");
    }
    if head.protocol {
        return refuse("a subprotocol was chosen although none was offered");
    }
    if head.extensions {
        return refuse("an extension was chosen although none was offered");
    }
    Ok(tail)
}

/// The request head: RFC 6455 §4.1 headers, then the credentials.
fn request(url: &Url, headers: &http::HeaderMap, key: &str) -> Vec<u8> {
    let target = &url[url::Position::BeforePath..url::Position::AfterQuery];
    let mut host = url.host_str().unwrap_or_default().to_string();
    if let Some(port) = url.port() {
        host.push_str(&format!(":{port}"));
    }
    let mut out = format!(
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n"
    )
    .into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// What the client needs of a response head.
#[derive(Debug, Default)]
struct Head {
    len: usize,
    status: u16,
    upgrade: Option<String>,
    connection: Option<String>,
    accept: Option<String>,
    content_length: Option<u64>,
    /// `Transfer-Encoding: chunked`: the body's bytes are framed.
    chunked: bool,
    protocol: bool,
    extensions: bool,
}

/// Parses a complete response head, `None` while incomplete.
fn parse_head(buf: &[u8]) -> Result<Option<Head>> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => {
            return Err(Error::Protocol(format!(
                "bad HTTP in the handshake response: {e}"
            )))
        }
    };
    let mut head = Head {
        len,
        status: response.code.unwrap_or_default(),
        ..Head::default()
    };
    for header in response.headers.iter() {
        let value = || String::from_utf8_lossy(header.value).into_owned();
        let name = header.name;
        if name.eq_ignore_ascii_case("upgrade") {
            head.upgrade = Some(value());
        } else if name.eq_ignore_ascii_case("connection") {
            head.connection = Some(value());
        } else if name.eq_ignore_ascii_case("sec-websocket-accept") {
            head.accept = Some(value());
        } else if name.eq_ignore_ascii_case("content-length") {
            head.content_length = value().trim().parse().ok();
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            head.chunked = value()
                .rsplit(',')
                .next()
                .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
        } else if name.eq_ignore_ascii_case("sec-websocket-protocol") {
            head.protocol = true;
        } else if name.eq_ignore_ascii_case("sec-websocket-extensions") {
            head.extensions = !header.value.trim_ascii().is_empty();
        }
    }
    Ok(Some(head))
}

/// The data of a `Transfer-Encoding: chunked` body (RFC 9112 §7.1), as
/// far as `raw` holds it, and whether the last chunk was reached. Chunk
/// extensions and trailers are skipped; a malformed size line ends the
/// data there (this is only an error message's text).
fn dechunk(raw: &[u8]) -> (Vec<u8>, bool) {
    let mut data = Vec::new();
    let mut rest = raw;
    loop {
        // httparse reads the size line (hex digits, extensions, CRLF).
        let Ok(httparse::Status::Complete((line, size))) = httparse::parse_chunk_size(rest) else {
            return (data, false);
        };
        rest = &rest[line..];
        if size == 0 {
            return (data, true);
        }
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        let take = size.min(rest.len());
        data.extend_from_slice(&rest[..take]);
        if take < size {
            return (data, false);
        }
        rest = rest.get(size + 2..).unwrap_or_default();
    }
}

/// Reads once into `buf`, never past `limit` bytes in all. Cancel-safe:
/// `buf` only grows by what was read.
async fn read_some<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    limit: usize,
) -> Result<usize> {
    let mut chunk = [0u8; 8192];
    let room = limit.saturating_sub(buf.len()).min(chunk.len());
    if room == 0 {
        return Ok(0);
    }
    let n = stream.read(&mut chunk[..room]).await.map_err(io_error)?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_head_has_the_upgrade_headers_and_credentials() {
        let url = Url::parse("ws://127.0.0.1:8080/ws/v2/reader/persistent/t/n/a?messageId=latest")
            .unwrap();
        let mut headers = http::HeaderMap::new();
        headers.insert("x-api-key", http::HeaderValue::from_static("k"));
        let text = String::from_utf8(request(&url, &headers, "KEY")).unwrap();
        assert_eq!(
            text,
            "GET /ws/v2/reader/persistent/t/n/a?messageId=latest HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\
             Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: KEY\r\nx-api-key: k\r\n\r\n"
        );
        let default_port = Url::parse("wss://[::1]/x").unwrap();
        let text = String::from_utf8(request(&default_port, &http::HeaderMap::new(), "K")).unwrap();
        assert!(
            text.starts_with("GET /x HTTP/1.1\r\nHost: [::1]\r\n"),
            "{text}"
        );
    }

    #[test]
    fn parses_heads_and_bounds_them() {
        assert!(parse_head(b"HTTP/1.1 101 Switching").unwrap().is_none());
        let head = parse_head(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n\
              Sec-WebSocket-Accept: abc\r\n\r\n\x81\x00",
        )
        .unwrap()
        .unwrap();
        assert_eq!(head.status, 101);
        assert_eq!(head.accept.as_deref(), Some("abc"));
        assert!(!head.protocol && !head.extensions);
        assert!(matches!(
            parse_head(b"HTTP/1.1 abc\r\n\r\n"),
            Err(Error::Protocol(_))
        ));
        let mut many = b"HTTP/1.1 500 X\r\n".to_vec();
        for _ in 0..200 {
            many.extend_from_slice(b"a: b\r\n");
        }
        many.extend_from_slice(b"\r\n");
        assert!(matches!(parse_head(&many), Err(Error::Protocol(_))));
    }

    #[test]
    fn dechunks_a_refused_body() {
        let body = b"7\r\nFailed \r\n11;ext=1\r\nto authenticate!!\r\n0\r\n\r\n";
        assert_eq!(dechunk(body), (b"Failed to authenticate!!".to_vec(), true));
        // Cut short, by the limit or the wait: what arrived, incomplete.
        assert_eq!(dechunk(&body[..8]), (b"Faile".to_vec(), false));
        assert_eq!(dechunk(&body[..16]), (b"Failed ".to_vec(), false));
        assert_eq!(dechunk(b""), (Vec::new(), false));
        // Not chunked after all: nothing is made up.
        assert_eq!(dechunk(b"oops\r\n"), (Vec::new(), false));
        assert_eq!(dechunk(b"ffffffffffffffffffff\r\nx"), (Vec::new(), false));
        let head = parse_head(b"HTTP/1.1 401 No\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(head.chunked);
    }
}
