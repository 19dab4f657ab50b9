//! TLS for `wss://`: rustls with the ring provider, and a choice of roots.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;

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
) -> Result<Arc<rustls::ClientConfig>> {
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
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_root_certificates(store)
        .with_no_client_auth();
    Ok(Arc::new(config))
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
