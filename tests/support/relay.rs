//! A TCP relay between the client under test and the broker, to cut connections at chosen moments
//! and to see the bytes of each handshake.
//!
//! ```ignore
//! #[path = "support/relay.rs"]
//! mod relay;
//! let relay = relay::Relay::start(&broker.ws_url).await;   // ws://127.0.0.1:<relay port>
//! let client = Client::builder(relay.url()).build()?;
//! relay.cut();                                             // drops every live connection
//! ```
//!
//! Only std and tokio (no crate API). A cut aborts each connection's task, which drops both of
//! its sockets: the client sees the connection end without a WebSocket Close frame (1006), the
//! broker sees the client go away.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinHandle};

/// The request head is at most this long; longer ones are kept cut.
const HEAD_LIMIT: usize = 16 * 1024;

#[derive(Default)]
struct Shared {
    live: Mutex<HashMap<u64, AbortHandle>>,
    heads: Mutex<Vec<String>>,
    accepted: AtomicU64,
}

/// A running relay; stops (and drops every connection) when dropped.
pub struct Relay {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl Relay {
    /// Listens on 127.0.0.1:0 and forwards every connection to `target`, given as
    /// `ws://host:port`, `http://host:port` or `host:port`.
    pub async fn start(target: &str) -> Relay {
        let target = target
            .trim_start_matches("ws://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("relay bind");
        let addr = listener.local_addr().expect("relay address");
        let shared = Arc::new(Shared::default());
        let accept = tokio::spawn(accept_loop(listener, target, shared.clone()));
        Relay {
            addr,
            shared,
            accept,
        }
    }

    /// `ws://127.0.0.1:<port>`: use it as the client's service URL.
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Drops every live connection now; returns how many there were.
    pub fn cut(&self) -> usize {
        let live: Vec<AbortHandle> = self
            .shared
            .live
            .lock()
            .unwrap()
            .drain()
            .map(|(_, h)| h)
            .collect();
        for handle in &live {
            handle.abort();
        }
        live.len()
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::Relaxed)
    }

    /// Connections open right now.
    pub fn live(&self) -> usize {
        self.shared.live.lock().unwrap().len()
    }

    /// The request head (request line and headers, as text) of every connection so far, in
    /// accept order.
    pub fn request_heads(&self) -> Vec<String> {
        self.shared.heads.lock().unwrap().clone()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.accept.abort();
        for (_, handle) in self.shared.live.lock().unwrap().drain() {
            handle.abort();
        }
    }
}

async fn accept_loop(listener: TcpListener, target: String, shared: Arc<Shared>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        let id = shared.accepted.fetch_add(1, Ordering::Relaxed);
        // Registered under the lock, so before the task can unregister itself.
        let mut live = shared.live.lock().unwrap();
        let task = tokio::spawn(serve(client, target.clone(), shared.clone(), id));
        live.insert(id, task.abort_handle());
    }
}

async fn serve(client: TcpStream, target: String, shared: Arc<Shared>, id: u64) {
    if let Ok(server) = TcpStream::connect(&target).await {
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let (mut client_rd, mut client_wr) = client.into_split();
        let (mut server_rd, mut server_wr) = server.into_split();
        let upstream = async {
            let mut head: Vec<u8> = Vec::new();
            let mut head_done = false;
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                let n = match client_rd.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                if !head_done {
                    head.extend_from_slice(&buf[..n]);
                    if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                        head.truncate(end);
                        head_done = true;
                    } else if head.len() >= HEAD_LIMIT {
                        head_done = true;
                    }
                    if head_done {
                        let text = String::from_utf8_lossy(&head).into_owned();
                        shared.heads.lock().unwrap().push(text);
                    }
                }
                if server_wr.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
            let _ = server_wr.shutdown().await;
        };
        let downstream = async {
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                let n = match server_rd.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                if client_wr.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
            let _ = client_wr.shutdown().await;
        };
        tokio::join!(upstream, downstream);
    }
    shared.live.lock().unwrap().remove(&id);
}
