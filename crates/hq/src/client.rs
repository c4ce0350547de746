//! Connecting to HQ: a `postgres://` URL with libpq's `sslmode` semantics over rustls, and
//! [`HqClient`], the till's [`HqLink`] (one connection, made on first use and again after
//! any failure).
//!
//! `sslmode` (libpq's meaning, default `prefer`):
//! - `disable`: plain TCP;
//! - `prefer`: TLS when the server offers it, unverified, else plain;
//! - `require`: TLS, unverified — unless a CA file is given, then as `verify-ca`;
//! - `verify-ca`: TLS, the certificate chained to the CA file, any host name;
//! - `verify-full`: TLS, chained to the CA file and valid for the host name.

pub use crate::errors::{db_text, ConnectError, PushError};
use redeemdesk_core::hq_sync::{HqAck, HqBatch, HqLink, HqLinkError, LinkFuture, SettleFuture};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::config::SslMode as PgSslMode;
use tokio_postgres::Client;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl FromStr for SslMode {
    type Err = ConnectError;
    fn from_str(s: &str) -> Result<SslMode, ConnectError> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(ConnectError::Config(format!(
                    "sslmode {other:?}: one of disable, prefer, require, verify-ca, verify-full"
                )))
            }
        })
    }
}

/// Where HQ is and how to reach it. The password comes from the secrets file, never the URL
/// in config.toml.
#[derive(Clone)]
pub struct HqTarget {
    config: tokio_postgres::Config,
    sslmode: SslMode,
    ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for HqTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // tokio_postgres::Config's Debug redacts the password; say only what is needed.
        f.debug_struct("HqTarget")
            .field("hosts", &self.config.get_hosts())
            .field("ports", &self.config.get_ports())
            .field("user", &self.config.get_user())
            .field("sslmode", &self.sslmode)
            .finish_non_exhaustive()
    }
}

impl HqTarget {
    /// `url`: `postgres://user@host:port/db?sslmode=verify-full` (libpq keywords also work).
    pub fn new(
        url: &str,
        password: Option<&str>,
        ca_file: Option<&Path>,
    ) -> Result<HqTarget, ConnectError> {
        let (rest, sslmode) = split_sslmode(url)?;
        let mut config = tokio_postgres::Config::from_str(&rest)
            .map_err(|e| ConnectError::Config(e.to_string()))?;
        if let Some(p) = password {
            config.password(p);
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        config.keepalives(true);
        config.keepalives_idle(Duration::from_secs(30));
        config.application_name("redeemdesk");
        Ok(HqTarget {
            config,
            sslmode,
            ca_file: ca_file.map(Path::to_owned),
        })
    }

    pub fn sslmode(&self) -> SslMode {
        self.sslmode
    }

    /// The same server, its sessions named `name` in `pg_stat_activity`.
    pub fn named(&self, name: &str) -> HqTarget {
        let mut target = self.clone();
        target.config.application_name(name);
        target
    }

    /// Opens a connection; its driver runs as a task on the current runtime.
    pub async fn connect(&self) -> Result<Client, ConnectError> {
        let mut config = self.config.clone();
        let mode = match (self.sslmode, &self.ca_file) {
            (SslMode::Require, Some(_)) => SslMode::VerifyCa,
            (m, _) => m,
        };
        if mode == SslMode::Disable {
            config.ssl_mode(PgSslMode::Disable);
            let (client, conn) = config.connect(tokio_postgres::NoTls).await?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!("HQ connection ended: {e}");
                }
            });
            return Ok(client);
        }
        config.ssl_mode(if mode == SslMode::Prefer {
            PgSslMode::Prefer
        } else {
            PgSslMode::Require
        });
        let tls = tokio_postgres_rustls::MakeRustlsConnect::new(self.tls_config(mode)?);
        let (client, conn) = config.connect(tls).await?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("HQ connection ended: {e}");
            }
        });
        Ok(client)
    }

    fn tls_config(&self, mode: SslMode) -> Result<rustls::ClientConfig, ConnectError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| ConnectError::Config(e.to_string()))?;
        let verifier: Arc<dyn ServerCertVerifier> = match mode {
            SslMode::Prefer | SslMode::Require => Arc::new(Unverified(provider)),
            SslMode::VerifyCa | SslMode::VerifyFull => {
                let path = self.ca_file.as_ref().ok_or_else(|| {
                    ConnectError::Config(format!("sslmode {mode:?} needs a CA file (hq.ca_file)"))
                })?;
                let roots = load_roots(path)?;
                let webpki =
                    rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider)
                        .build()
                        .map_err(|e| ConnectError::CaFile {
                            path: path.clone(),
                            reason: e.to_string(),
                        })?;
                if mode == SslMode::VerifyCa {
                    Arc::new(AnyName(webpki))
                } else {
                    webpki
                }
            }
            SslMode::Disable => unreachable!("plain connections take no TLS config"),
        };
        Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth())
    }
}

fn load_roots(path: &Path) -> Result<Arc<rustls::RootCertStore>, ConnectError> {
    let bad = |reason: String| ConnectError::CaFile {
        path: path.to_owned(),
        reason,
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))? {
        let cert = cert.map_err(|e| bad(e.to_string()))?;
        roots.add(cert).map_err(|e| bad(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad("holds no certificate".to_owned()));
    }
    Ok(Arc::new(roots))
}

/// Takes `sslmode` out of a URL or keyword string (tokio-postgres knows only three modes).
fn split_sslmode(url: &str) -> Result<(String, SslMode), ConnectError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let mut parsed = url::Url::parse(url).map_err(|e| ConnectError::Config(e.to_string()))?;
        if parsed.password().is_some() {
            return Err(ConnectError::Config(
                "the password belongs in the secrets file ([hq] password), not in the URL"
                    .to_owned(),
            ));
        }
        let mut mode = SslMode::Prefer;
        let kept: Vec<(String, String)> = parsed
            .query_pairs()
            .filter_map(|(k, v)| {
                if k == "sslmode" {
                    mode = match v.parse() {
                        Ok(m) => m,
                        Err(_) => return Some((k.into_owned(), v.into_owned())),
                    };
                    None
                } else {
                    Some((k.into_owned(), v.into_owned()))
                }
            })
            .collect();
        if let Some((_, v)) = kept.iter().find(|(k, _)| k == "sslmode") {
            return Err(v.parse::<SslMode>().unwrap_err());
        }
        if kept.is_empty() {
            parsed.set_query(None);
        } else {
            parsed.query_pairs_mut().clear().extend_pairs(kept);
        }
        Ok((parsed.to_string(), mode))
    } else {
        let mut mode = SslMode::Prefer;
        let mut kept = Vec::new();
        for word in url.split_whitespace() {
            match word.strip_prefix("sslmode=") {
                Some(v) => mode = v.parse()?,
                None => kept.push(word),
            }
        }
        Ok((kept.join(" "), mode))
    }
}

/// libpq's `prefer`/`require` without a CA: encrypted, the server not authenticated.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to the CA; the name in the certificate is not checked.
#[derive(Debug)]
struct AnyName(Arc<rustls::client::WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(e))
                if format!("{e:?}").starts_with("NotValidForName") =>
            {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// How long one push may take before the connection is given up (and the batch resent on
/// a new one: HQ ignores what it already holds).
pub const PUSH_TIMEOUT: Duration = Duration::from_secs(30);

/// The till's way to HQ: one connection for the pushes and, where HQ leaves its report
/// projection to the till, a second for that, each reopened after any failure.
pub struct HqClient {
    target: HqTarget,
    /// The connection, with its push prepared.
    client: tokio::sync::Mutex<Option<crate::ingest::Pusher>>,
    projecting: Arc<Projecting>,
    timeout: Duration,
}

/// A call to HQ given up after `timeout` (the connection is then dropped by the caller).
async fn within<T>(
    timeout: Duration,
    call: impl std::future::Future<Output = Result<T, PushError>>,
) -> Result<T, PushError> {
    tokio::time::timeout(timeout, call)
        .await
        .unwrap_or(Err(PushError::Timeout(timeout)))
}

/// The `application_name` of the projection's session (the pushes' is `redeemdesk`).
pub const PROJECTION_SESSION: &str = "redeemdesk projection";

/// The projection of what was pushed, on its own connection: each answered push of the
/// apart wire queues one (a task that waits for the one before, so they run in order and a
/// late one finds little left), and the next push goes out meanwhile.
#[derive(Default)]
struct Projecting {
    connection: tokio::sync::Mutex<Option<crate::ingest::Projector>>,
    last: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Projecting {
    async fn project(
        &self,
        target: &HqTarget,
        timeout: Duration,
        store_id: &str,
        desk_id: &str,
    ) -> Result<i64, PushError> {
        let mut slot = self.connection.lock().await;
        if slot
            .as_ref()
            .is_none_or(crate::ingest::Projector::is_closed)
        {
            let connection = target.named(PROJECTION_SESSION).connect().await?;
            *slot = Some(crate::ingest::Projector::new(connection).await?);
        }
        let projector = slot.as_ref().expect("connected above");
        let result = within(timeout, projector.project(store_id, desk_id)).await;
        if result.is_err() {
            *slot = None;
        }
        result
    }
}

impl std::fmt::Debug for HqClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HqClient")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl HqClient {
    pub fn new(target: HqTarget) -> HqClient {
        HqClient {
            target,
            client: tokio::sync::Mutex::new(None),
            projecting: Arc::default(),
            timeout: PUSH_TIMEOUT,
        }
    }

    pub fn with_timeout(mut self, timeout: Duration) -> HqClient {
        self.timeout = timeout;
        self
    }

    /// Makes the connection now (TCP, TLS, login, the push prepared), as the first push
    /// would: a caller that wants the login apart from its first push's time. Answers
    /// whether HQ takes the batch as columns.
    pub async fn connect(&self) -> Result<bool, PushError> {
        let mut slot = self.client.lock().await;
        Ok(self.connected(&mut slot).await?.sends_columns())
    }

    /// The open connection, made again when there is none or it broke.
    async fn connected<'a>(
        &self,
        slot: &'a mut Option<crate::ingest::Pusher>,
    ) -> Result<&'a crate::ingest::Pusher, PushError> {
        if slot.as_ref().is_none_or(crate::ingest::Pusher::is_closed) {
            *slot = Some(crate::ingest::Pusher::new(self.target.connect().await?).await?);
        }
        Ok(slot.as_ref().expect("connected above"))
    }

    async fn push_once(&self, batch: &HqBatch) -> Result<HqAck, PushError> {
        let mut slot = self.client.lock().await;
        let pusher = self.connected(&mut slot).await?;
        let result = within(self.timeout, pusher.push(batch)).await;
        match &result {
            // Whatever broke, the next push starts on a fresh connection.
            Err(_) => *slot = None,
            Ok(_) if pusher.projects_apart() => self.project_after(batch),
            Ok(_) => {}
        }
        result
    }

    /// Queues the projection of the desk up to what HQ now holds. A failed one is only
    /// late: the next catches up, and so does every read of HQ's reports.
    fn project_after(&self, batch: &HqBatch) {
        let (projecting, target, timeout) =
            (self.projecting.clone(), self.target.clone(), self.timeout);
        let (store_id, desk_id) = (batch.store_id.clone(), batch.desk_id.clone());
        let mut last = self.projecting.last.lock().expect("projection queue");
        let before = last.take();
        *last = Some(tokio::spawn(async move {
            if let Some(before) = before {
                let _ = before.await;
            }
            if let Err(e) = projecting
                .project(&target, timeout, &store_id, &desk_id)
                .await
            {
                tracing::debug!("HQ projection left for the next one: {e}");
            }
        }));
    }

    /// Waits for the queued projections.
    pub async fn settled(&self) {
        let last = self
            .projecting
            .last
            .lock()
            .expect("projection queue")
            .take();
        if let Some(last) = last {
            let _ = last.await;
        }
    }
}

impl HqLink for HqClient {
    fn push<'a>(&'a self, batch: &'a HqBatch) -> LinkFuture<'a> {
        Box::pin(async move {
            self.push_once(batch).await.map_err(|e| match &e {
                // A refusal is the server's answer to this push (a role not made for the
                // store, a bad batch); a server shutting down or killing the backend is
                // HQ being away, like a broken connection.
                PushError::Db(db)
                    if db.code().is_some_and(|c| {
                        !["08", "57", "53", "40"]
                            .iter()
                            .any(|k| c.code().starts_with(k))
                    }) =>
                {
                    HqLinkError::Refused(e.to_string())
                }
                PushError::Invalid(_) => HqLinkError::Refused(e.to_string()),
                _ => HqLinkError::Unreachable(e.to_string()),
            })
        })
    }

    fn settle(&self) -> SettleFuture<'_> {
        Box::pin(self.settled())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_is_taken_from_the_url_and_the_rest_is_kept() {
        let (rest, mode) = split_sslmode(
            "postgres://till@hq.example:5432/hq?sslmode=verify-full&connect_timeout=3",
        )
        .unwrap();
        assert_eq!(mode, SslMode::VerifyFull);
        assert_eq!(rest, "postgres://till@hq.example:5432/hq?connect_timeout=3");
        let (_, mode) = split_sslmode("postgres://till@hq/hq").unwrap();
        assert_eq!(mode, SslMode::Prefer, "libpq's default");
        let (rest, mode) = split_sslmode("host=/tmp user=x sslmode=disable").unwrap();
        assert_eq!(
            (rest.as_str(), mode),
            ("host=/tmp user=x", SslMode::Disable)
        );
        assert!(split_sslmode("postgres://till@hq/hq?sslmode=allow-everything").is_err());
        assert!(
            split_sslmode("postgres://till:hunter2@hq/hq").is_err(),
            "no password in config.toml"
        );
    }
}
