//! The sandbox's own accept loop: one tokio task per TCP connection serving HTTP/1.1 with
//! hyper and the axum router as the service. It is hand-written (not `axum::serve`) so a
//! handler can make its connection vanish without an answer (channels.md §6): every
//! request carries a [`Conn`] extension; a handler that calls [`Conn::abandon`] never
//! returns, and the connection task drops the hyper connection (and so the handler) and the
//! socket — with SO_LINGER 0 for a reset (the kernel sends RST), or after a plain shutdown
//! for a drop (FIN, no bytes of an answer).

use crate::fault::{Fault, Strike};
use crate::store::bytes_body::AnswerBytes;
use axum::body::Body;
use axum::http::{header, Request, Response, StatusCode};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;
use tower::Service;

/// How a handler wants its connection to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abandon {
    /// TCP RST: SO_LINGER 0, then close.
    Reset,
    /// FIN without a byte of an answer.
    Drop,
}

/// The per-connection handle a handler finds in its request's extensions.
#[derive(Clone, Debug)]
pub struct Conn {
    tx: Arc<Mutex<Option<oneshot::Sender<Abandon>>>>,
}

impl Conn {
    /// Ends the connection without an answer. The returned future never completes: the
    /// connection task drops it together with the connection.
    pub async fn abandon(&self, how: Abandon) -> Response<Body> {
        let sender = self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(tx) = sender {
            if tx.send(how).is_ok() {
                std::future::pending::<()>().await;
            }
        }
        // Only reachable if the connection task is already gone: nobody reads this.
        plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain",
            b"abandoned".to_vec(),
        )
    }
}

/// Accepts connections until `stop` turns true; dropping the `JoinSet` at the end aborts
/// every connection still open (including handlers sleeping in a `Delay` fault).
pub async fn accept_loop(listener: TcpListener, router: Router, mut stop: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(serve_connection(stream, router.clone()));
                }
                Err(error) => {
                    // Out of file descriptors and the like: wait a little instead of spinning.
                    tracing::warn!(%error, "sandbox accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve_connection(stream: TcpStream, router: Router) {
    let _ = stream.set_nodelay(true);
    // A second handle on the same socket stays here while hyper owns the first: it is what
    // lets this task set SO_LINGER 0 or shut the socket down after hyper is dropped.
    let Ok(std_stream) = stream.into_std() else {
        return;
    };
    let Ok(twin) = std_stream.try_clone() else {
        return;
    };
    let Ok(stream) = TcpStream::from_std(std_stream) else {
        return;
    };
    let (tx, rx) = oneshot::channel();
    let conn = Conn {
        tx: Arc::new(Mutex::new(Some(tx))),
    };
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(conn.clone());
        let mut router = router.clone();
        async move { router.call(request).await }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    // Boxed so that `drop` below really ends it, before the twin handle goes.
    let mut connection = Box::pin(connection);
    let how = tokio::select! {
        _ = connection.as_mut() => return,
        how = rx => how,
    };
    match how {
        Ok(Abandon::Reset) => {
            let _ = socket2::SockRef::from(&twin).set_linger(Some(Duration::ZERO));
        }
        Ok(Abandon::Drop) => {
            let _ = twin.shutdown(std::net::Shutdown::Both);
        }
        // Every `Conn` is gone without a word: the connection is ending by itself.
        Err(_) => {
            let _ = connection.await;
            return;
        }
    }
    // Dropping hyper's connection drops the handler and the first handle; dropping `twin`
    // closes the socket for good, which is when the RST (linger 0) goes out.
    drop(connection);
    drop(twin);
}

/// A response with a body and a content type.
pub fn plain(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// The response of a stored answer.
pub fn respond(answer: &AnswerBytes) -> Response<Body> {
    plain(
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK),
        answer.content_type,
        answer.body.clone(),
    )
}

/// Applies a fault that strikes before the request is processed (nothing is consumed):
/// `Some(response)` to send instead, `None` to go on processing.
pub async fn before(strike: Option<Strike>, conn: Option<&Conn>) -> Option<Response<Body>> {
    match strike?.fault {
        Fault::Reset => Some(abandon(conn, Abandon::Reset).await),
        Fault::Http500 => Some(plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/html; charset=utf-8",
            b"<html><head><title>500 Internal Server Error</title></head><body><center><h1>500 Internal Server Error</h1></center><hr><center>nginx</center></body></html>".to_vec(),
        )),
        Fault::Garbage => Some(plain(
            StatusCode::OK,
            "text/html; charset=utf-8",
            "<html><body>系统维护中,请稍后再试 <!-- upstream: 502 Bad Gateway --></body></html>"
                .as_bytes()
                .to_vec(),
        )),
        Fault::Delay | Fault::BadSignature | Fault::CommitThenDrop => None,
    }
}

/// Delivers an answer after the commit, spoiled as the strike says. (`BadSignature` is
/// the channel's business: it passes the wrongly signed answer in.)
pub async fn after(
    strike: Option<Strike>,
    answer: &AnswerBytes,
    conn: Option<&Conn>,
) -> Response<Body> {
    match strike {
        Some(Strike {
            fault: Fault::Delay,
            delay,
        }) => {
            tokio::time::sleep(delay).await;
            respond(answer)
        }
        Some(Strike {
            fault: Fault::CommitThenDrop,
            ..
        }) => abandon(conn, Abandon::Drop).await,
        _ => respond(answer),
    }
}

async fn abandon(conn: Option<&Conn>, how: Abandon) -> Response<Body> {
    match conn {
        Some(conn) => conn.abandon(how).await,
        // Served outside the accept loop (a unit test calling the router directly): the
        // closest thing to "no answer" is an empty 502.
        None => plain(StatusCode::BAD_GATEWAY, "text/plain", Vec::new()),
    }
}
