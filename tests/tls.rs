//! TLS against a local `wss://` server with certificates made here by
//! rcgen: a private CA trusted through `add_root_certificate_pem`, and every
//! way a certificate can be wrong (typed `Error::Tls`, not retryable), and
//! `danger_accept_invalid_certificates` as the only way around them.

mod common;

use std::sync::{Arc, Mutex};

use common::raw::{message, wire_id, Conn, RawServer};
use common::{next, topic, within};
use pulsar_eventstream::{Client, Error, NeverReconnect, Position, TlsRoots};
use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A private CA.
struct Ca {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
}

fn ca() -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "pulsar-eventstream test CA");
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let pem = params.self_signed(&key).unwrap().pem();
    Ca { params, key, pem }
}

/// A server certificate for `names`, issued by `ca` (self-signed when
/// `None`), valid in `(from, until)` years when given.
fn leaf(
    ca: Option<&Ca>,
    names: &[&str],
    years: Option<(i32, i32)>,
) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    if let Some((from, until)) = years {
        params.not_before = date_time_ymd(from, 1, 1);
        params.not_after = date_time_ymd(until, 1, 1);
    }
    let cert = match ca {
        Some(ca) => params
            .signed_by(&key, &Issuer::from_params(&ca.params, &ca.key))
            .unwrap(),
        None => params.self_signed(&key).unwrap(),
    };
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    (vec![cert.der().clone()], key)
}

/// A `wss://` server presenting `chain`: it upgrades and sends one message.
async fn server(chain: (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)) -> RawServer {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain.0, chain.1)
        .unwrap();
    RawServer::start_tls(Arc::new(config), |_, mut conn: Conn| async move {
        conn.accept().await;
        conn.send_text(&message(1, 1, b"over tls")).await;
        conn.hold().await;
    })
    .await
}

fn wss(server: &RawServer) -> String {
    format!("wss://{}", server.addr)
}

async fn subscribe(client: &Client) -> pulsar_eventstream::Result<pulsar_eventstream::EventStream> {
    let (_, topic) = topic("tls");
    within(
        client
            .reader(topic)
            .position(Position::Earliest)
            .reconnect_policy(NeverReconnect)
            .subscribe(),
    )
    .await
}

async fn refused(client: &Client, expect: &str) {
    let error = subscribe(client).await.unwrap_err();
    match &error {
        Error::Tls(message) => assert!(message.contains(expect), "{expect}: {message}"),
        other => panic!("{expect}: not a TLS error: {other:?}"),
    }
    assert!(!error.is_retryable());
}

fn trusting(server: &RawServer, ca: &Ca) -> Client {
    Client::builder(wss(server))
        .tls_roots(TlsRoots::Custom)
        .add_root_certificate_pem(ca.pem.clone())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_custom_root_ca_is_accepted() {
    let ca = ca();
    let server = server(leaf(Some(&ca), &["127.0.0.1", "localhost"], None)).await;
    let mut events = subscribe(&trusting(&server, &ca)).await.unwrap();
    let event = next(&mut events).await.unwrap();
    assert_eq!(event.message_id().as_str(), wire_id(1, 1));
    assert_eq!(event.text().unwrap(), "over tls");
    // Added to the bundled roots, not only as the only root.
    let both = Client::builder(wss(&server))
        .add_root_certificate_pem(ca.pem.clone())
        .build()
        .unwrap();
    subscribe(&both).await.unwrap();
}

#[tokio::test]
async fn a_certificate_for_another_host_is_a_tls_error() {
    let ca = ca();
    let server = server(leaf(Some(&ca), &["pulsar.example.com"], None)).await;
    refused(&trusting(&server, &ca), "not valid for name").await;
}

#[tokio::test]
async fn an_expired_certificate_is_a_tls_error() {
    let ca = ca();
    let server = server(leaf(Some(&ca), &["127.0.0.1"], Some((2001, 2002)))).await;
    refused(&trusting(&server, &ca), "expired").await;
}

#[tokio::test]
async fn a_self_signed_certificate_is_a_tls_error() {
    let server = server(leaf(None, &["127.0.0.1"], None)).await;
    // Neither the bundled roots nor an unrelated private CA trust it.
    let default_roots = Client::builder(wss(&server)).build().unwrap();
    refused(&default_roots, "UnknownIssuer").await;
    refused(&trusting(&server, &ca()), "UnknownIssuer").await;
}

#[tokio::test]
async fn a_plain_http_server_behind_wss_is_a_tls_error() {
    // What an HTTP server says to a TLS ClientHello.
    let plain = RawServer::start(|_, mut conn: Conn| async move {
        conn.send_raw(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            .await;
        conn.hold().await;
    })
    .await;
    let client = Client::builder(wss(&plain)).build().unwrap();
    let error = subscribe(&client).await.unwrap_err();
    assert!(matches!(error, Error::Tls(_)), "{error:?}");
}

/// Captures what `tracing` says on this thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn danger_accept_invalid_certificates_is_explicit_and_loud() {
    let ca = ca();
    let bad = [
        server(leaf(None, &["127.0.0.1"], None)).await,
        server(leaf(Some(&ca), &["127.0.0.1"], Some((2001, 2002)))).await,
        server(leaf(Some(&ca), &["pulsar.example.com"], None)).await,
    ];
    for server in &bad {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let client = tracing::subscriber::with_default(subscriber, || {
            Client::builder(wss(server))
                .danger_accept_invalid_certificates(true)
                .build()
                .unwrap()
        });
        let logged = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(
            logged.contains("WARN") && logged.contains("danger_accept_invalid_certificates"),
            "{logged}"
        );
        assert!(format!("{client:?}").contains("danger_accept_invalid_certificates: true"));
        let mut events = subscribe(&client).await.unwrap();
        assert_eq!(next(&mut events).await.unwrap().text().unwrap(), "over tls");
        // Off by default, and `false` turns it off again.
        let safe = Client::builder(wss(server))
            .danger_accept_invalid_certificates(true)
            .danger_accept_invalid_certificates(false)
            .build()
            .unwrap();
        assert!(matches!(subscribe(&safe).await, Err(Error::Tls(_))));
    }
}
