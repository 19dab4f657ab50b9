//! TLS for `wss://`: rustls with the ring provider, and a choice of roots.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{Error, Result};

/// Which root certificates a client trusts for `wss://` connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TlsRoots {
    /// The Mozilla root set bundled at build time by `webpki-roots` (feature
    /// `webpki-roots`, on by default): the same everywhere, no system access.
    #[cfg_attr(feature = "webpki-roots", default)]
    Webpki,
    /// The operating system's certificate store (feature `native-roots`).
    #[cfg_attr(not(feature = "webpki-roots"), default)]
    Native,
    /// Only the certificates added with `add_root_certificate_*`.
    Custom,
}

/// A root certificate added by the user, parsed at `build()`.
pub(crate) enum ExtraRoot {
    Der(Vec<u8>),
    Pem(Vec<u8>),
}

pub(crate) fn client_config(
    roots: TlsRoots,
    extra: &[ExtraRoot],
    danger_accept_invalid_certificates: bool,
) -> Result<Arc<rustls::ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    if danger_accept_invalid_certificates {
        tracing::warn!(
            "TLS certificate verification is OFF (danger_accept_invalid_certificates): \
             any server can impersonate the service and read the credentials sent to it"
        );
        let verifier = Arc::new(AcceptAnyCertificate {
            provider: provider.clone(),
        });
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        return Ok(Arc::new(config));
    }
    let mut store = RootCertStore::empty();
    match roots {
        TlsRoots::Webpki => add_webpki(&mut store)?,
        TlsRoots::Native => add_native(&mut store)?,
        TlsRoots::Custom => {}
    }
    for root in extra {
        let certs: Vec<CertificateDer<'static>> = match root {
            ExtraRoot::Der(der) => vec![CertificateDer::from(der.clone())],
            ExtraRoot::Pem(pem) => CertificateDer::pem_slice_iter(pem)
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| Error::Config(format!("invalid PEM root certificate: {e}")))?,
        };
        if certs.is_empty() {
            return Err(Error::Config("PEM text holds no certificate".into()));
        }
        for cert in certs {
            store
                .add(cert)
                .map_err(|e| Error::Config(format!("invalid root certificate: {e}")))?;
        }
    }
    if store.is_empty() {
        return Err(Error::Config(
            "no TLS root certificates: add one or choose other TlsRoots".into(),
        ));
    }
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_root_certificates(store)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// `ClientBuilder::danger_accept_invalid_certificates(true)`: any
/// certificate chain, any name, any validity period. Handshake signatures are
/// still checked (so the peer holds the key of the certificate it shows),
/// which proves nothing about who it is.
#[derive(Debug)]
struct AcceptAnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(feature = "webpki-roots")]
fn add_webpki(store: &mut RootCertStore) -> Result<()> {
    store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    Ok(())
}

#[cfg(not(feature = "webpki-roots"))]
fn add_webpki(_: &mut RootCertStore) -> Result<()> {
    Err(Error::Config(
        "TlsRoots::Webpki needs the `webpki-roots` feature".into(),
    ))
}

#[cfg(feature = "native-roots")]
fn add_native(store: &mut RootCertStore) -> Result<()> {
    let found = rustls_native_certs::load_native_certs();
    let (added, _ignored) = store.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err(Error::Config(format!(
            "no usable certificate in the system store ({} errors)",
            found.errors.len()
        )));
    }
    Ok(())
}

#[cfg(not(feature = "native-roots"))]
fn add_native(_: &mut RootCertStore) -> Result<()> {
    Err(Error::Config(
        "TlsRoots::Native needs the `native-roots` feature".into(),
    ))
}
