//! A minimal HTTP/1.1 client for the broker's admin REST API: one request per connection
//! (`Connection: close`), over `tokio::net::TcpStream`; Content-Length, chunked and
//! close-delimited bodies, 1xx answers skipped.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{err, BrokerError};

/// Status, headers and body of an HTTP response.
#[derive(Clone, Debug)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Result<Value, BrokerError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| err(format!("response body is not JSON: {e}")))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Panics with the status and body unless 2xx.
    pub fn expect_success(&self, what: &str) {
        if !self.is_success() {
            panic!("{what}: HTTP {}: {}", self.status, self.text());
        }
    }
}

/// One HTTP/1.1 request to an `http://host:port/path` URL. `token` is sent as
/// `Authorization: Bearer <token>`, `body` as JSON.
pub async fn http_request(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
    timeout: Duration,
) -> Result<HttpResponse, BrokerError> {
    tokio::time::timeout(timeout, http_request_inner(method, url, token, body))
        .await
        .map_err(|_| err(format!("{method} {url}: timed out after {timeout:?}")))?
}

async fn http_request_inner(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Result<HttpResponse, BrokerError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| err(format!("only http:// URLs are supported: {url}")))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let body_bytes = match body {
        Some(v) => serde_json::to_vec(v).map_err(|e| err(format!("serializing body: {e}")))?,
        None => Vec::new(),
    };
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: pulsar-eventstream-tests\r\n\
         Accept: application/json, */*\r\nConnection: close\r\n"
    );
    if let Some(t) = token {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    if body.is_some() {
        req.push_str("Content-Type: application/json\r\n");
    }
    if body.is_some() || matches!(method, "POST" | "PUT" | "PATCH") {
        req.push_str(&format!("Content-Length: {}\r\n", body_bytes.len()));
    }
    req.push_str("\r\n");

    let mut stream = TcpStream::connect(authority)
        .await
        .map_err(|e| err(format!("{method} {url}: connect: {e}")))?;
    stream
        .write_all(req.as_bytes())
        .await
        .map_err(|e| err(format!("{method} {url}: write: {e}")))?;
    stream
        .write_all(&body_bytes)
        .await
        .map_err(|e| err(format!("{method} {url}: write: {e}")))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .await
        .map_err(|e| err(format!("{method} {url}: read: {e}")))?;
    parse_response(&raw, method == "HEAD").map_err(|e| err(format!("{method} {url}: {e}")))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn parse_response(mut raw: &[u8], head: bool) -> Result<HttpResponse, String> {
    loop {
        let end = find(raw, b"\r\n\r\n").ok_or("incomplete response head")?;
        let head_text = String::from_utf8_lossy(&raw[..end]).into_owned();
        let rest = &raw[end + 4..];
        let mut lines = head_text.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {status_line:?}"))?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        if (100..200).contains(&status) {
            raw = rest; // 100 Continue and friends: the real response follows
            continue;
        }
        let header = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        let body = if head || status == 204 || status == 304 {
            Vec::new()
        } else if header("transfer-encoding")
            .map(|v| v.to_ascii_lowercase().contains("chunked"))
            .unwrap_or(false)
        {
            decode_chunked(rest)?
        } else if let Some(len) = header("content-length") {
            let len: usize = len
                .parse()
                .map_err(|_| format!("bad Content-Length {len:?}"))?;
            if rest.len() < len {
                return Err(format!("body truncated: {} of {len} bytes", rest.len()));
            }
            rest[..len].to_vec()
        } else {
            rest.to_vec() // delimited by the connection close
        };
        return Ok(HttpResponse {
            status,
            headers,
            body,
        });
    }
}

fn decode_chunked(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = find(data, b"\r\n").ok_or("truncated chunk size line")?;
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size_hex = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| format!("bad chunk size {size_hex:?}"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out); // trailers, if any, are ignored
        }
        if data.len() < size + 2 {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}
