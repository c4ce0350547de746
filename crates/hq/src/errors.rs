//! What can go wrong between a till and HQ: reaching it, and a push. A leaf the client and
//! the ingest call both use.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("HQ connection settings: {0}")]
    Config(String),
    #[error("HQ CA file {}: {reason}", path.display())]
    CaFile { path: PathBuf, reason: String },
    #[error("HQ: {}", db_text(.0))]
    Db(#[from] tokio_postgres::Error),
    #[error("HQ: no answer within {0:?}")]
    Timeout(Duration),
}

/// tokio-postgres says only "db error" for a server's error: the server's words are inside.
pub fn db_text(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => {
            // "error performing TLS handshake" says little without its causes.
            let mut text = e.to_string();
            let mut cause = std::error::Error::source(e);
            while let Some(c) = cause {
                text.push_str(&format!(": {c}"));
                cause = c.source();
            }
            text
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("HQ: {}", db_text(.0))]
    Db(#[from] tokio_postgres::Error),
    #[error("HQ batch: {0}")]
    Invalid(String),
    #[error("HQ: no answer within {0:?}")]
    Timeout(Duration),
}
