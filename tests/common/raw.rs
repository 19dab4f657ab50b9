//! A scripted, hostile WebSocket server on 127.0.0.1 for the bad-input
//! matrix: each connection runs a test's own script over the raw bytes
//! (RFC 6455 framing written here, not borrowed from the client), over TCP
//! or TLS.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::Engine as _;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Anything a script can talk over.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

type Script = Arc<dyn Fn(usize, Conn) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// The server; stops when dropped.
pub struct RawServer {
    pub addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RawServer {
    /// Serves plain TCP; `script(n, conn)` runs for the n-th connection (1, 2, …).
    pub async fn start<F, Fut>(script: F) -> RawServer
    where
        F: Fn(usize, Conn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Self::serve(None, script).await
    }

    /// Serves TLS with `config`; a failed TLS handshake ends that connection.
    pub async fn start_tls<F, Fut>(config: Arc<rustls::ServerConfig>, script: F) -> RawServer
    where
        F: Fn(usize, Conn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Self::serve(Some(tokio_rustls::TlsAcceptor::from(config)), script).await
    }

    async fn serve<F, Fut>(tls: Option<tokio_rustls::TlsAcceptor>, script: F) -> RawServer
    where
        F: Fn(usize, Conn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let accepted = Arc::new(AtomicUsize::new(0));
        let script: Script = Arc::new(move |n, conn| Box::pin(script(n, conn)));
        let counter = accepted.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                let script = script.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let io: Box<dyn Io> = match tls {
                        None => Box::new(tcp),
                        Some(acceptor) => match acceptor.accept(tcp).await {
                            Ok(stream) => Box::new(stream),
                            Err(_) => return,
                        },
                    };
                    script(n, Conn { io }).await;
                });
            }
        });
        RawServer {
            addr,
            accepted,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// One connection, as the script sees it.
pub struct Conn {
    pub io: Box<dyn Io>,
}

/// `Sec-WebSocket-Accept` for a key (RFC 6455 §4.2.2): SHA-1 from
/// tungstenite, the rest spelled out here.
fn accept_key(key: &str) -> String {
    tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes())
}

impl Conn {
    /// Reads the request head (at most 64 KiB); `None` if the client left.
    pub async fn read_request(&mut self) -> Option<String> {
        let mut buf = Vec::new();
        let mut byte = [0u8; 1];
        while !buf.ends_with(b"\r\n\r\n") {
            if buf.len() > 64 * 1024 || self.io.read(&mut byte).await.ok()? == 0 {
                return None;
            }
            buf.push(byte[0]);
        }
        Some(String::from_utf8_lossy(&buf).into_owned())
    }

    /// Reads the request and answers `101 Switching Protocols`; returns the
    /// request head.
    pub async fn accept(&mut self) -> String {
        let request = self.read_request().await.expect("an upgrade request");
        let key = request
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("sec-websocket-key")
                    .then(|| value.trim().to_string())
            })
            .expect("Sec-WebSocket-Key");
        let response = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n\r\n",
            accept_key(&key)
        );
        self.send_raw(response.as_bytes()).await;
        request
    }

    /// Writes bytes; `false` once the client is gone.
    pub async fn send_raw(&mut self, bytes: &[u8]) -> bool {
        self.io.write_all(bytes).await.is_ok() && self.io.flush().await.is_ok()
    }

    /// A server frame (unmasked).
    pub async fn send_frame(&mut self, fin: bool, opcode: u8, payload: &[u8]) -> bool {
        self.send_raw(&frame(fin, opcode, payload)).await
    }

    pub async fn send_text(&mut self, text: &str) -> bool {
        self.send_frame(true, 1, text.as_bytes()).await
    }

    /// The next client frame, unmasked: `(fin, opcode, payload)`; `None` at
    /// EOF or on a malformed frame.
    pub async fn read_frame(&mut self) -> Option<(bool, u8, Vec<u8>)> {
        let mut head = [0u8; 2];
        self.io.read_exact(&mut head).await.ok()?;
        let (fin, opcode) = (head[0] & 0x80 != 0, head[0] & 0x0f);
        let masked = head[1] & 0x80 != 0;
        let len = match head[1] & 0x7f {
            126 => {
                let mut b = [0u8; 2];
                self.io.read_exact(&mut b).await.ok()?;
                u64::from(u16::from_be_bytes(b))
            }
            127 => {
                let mut b = [0u8; 8];
                self.io.read_exact(&mut b).await.ok()?;
                u64::from_be_bytes(b)
            }
            n => u64::from(n),
        };
        if len > 1 << 20 {
            return None;
        }
        let mut mask = [0u8; 4];
        if masked {
            self.io.read_exact(&mut mask).await.ok()?;
        }
        let mut payload = vec![0u8; len as usize];
        self.io.read_exact(&mut payload).await.ok()?;
        if masked {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= mask[i % 4];
            }
        }
        Some((fin, opcode, payload))
    }

    /// Reads client frames until one of `opcode` arrives (answering nothing).
    pub async fn read_until(&mut self, opcode: u8) -> Option<Vec<u8>> {
        loop {
            let (_, op, payload) = self.read_frame().await?;
            if op == opcode {
                return Some(payload);
            }
        }
    }

    /// Keeps the connection open, reading and dropping whatever comes, until
    /// the client goes away.
    pub async fn hold(mut self) {
        let mut buf = [0u8; 4096];
        while matches!(self.io.read(&mut buf).await, Ok(n) if n > 0) {}
    }
}

/// Encodes one server frame.
pub fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![(u8::from(fin) << 7) | opcode];
    let len = payload.len();
    if len < 126 {
        out.push(len as u8);
    } else if len <= 0xffff {
        out.push(126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(payload);
    out
}

/// The wire id of `(ledger, entry)` for small values: fields 1, 2 and 6
/// (`protocol.md` §9.1).
pub fn wire_id(ledger: u8, entry: u8) -> String {
    assert!(ledger < 128 && entry < 128);
    base64::engine::general_purpose::STANDARD.encode([0x08, ledger, 0x10, entry, 0x30, 0x00])
}

/// A message frame (`protocol.md` §4.1).
pub fn message(ledger: u8, entry: u8, payload: &[u8]) -> String {
    format!(
        r#"{{"messageId":"{}","payload":"{}","properties":{{}},"publishTime":"2026-11-23T10:00:00Z","redeliveryCount":0}}"#,
        wire_id(ledger, entry),
        base64::engine::general_purpose::STANDARD.encode(payload)
    )
}

/// The reader start (`messageId` query value) of a request head.
pub fn start_of(request: &str) -> Option<String> {
    let line = request.lines().next()?;
    let target = line.split(' ').nth(1)?;
    let (_, query) = target.split_once('?')?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "messageId")
        .map(|(_, v)| v.into_owned())
}
