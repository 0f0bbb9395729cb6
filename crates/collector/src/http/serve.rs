//! The HTTP accept loop: a bounded number of connections, each with read timeouts.
//!
//! `axum::serve` accepts without limit and never times a connection out, so a thousand
//! connections that send nothing use up the descriptors and the health check stops
//! answering. Here every connection must send its request headers within
//! [`HEADER_TIMEOUT`] (hyper restarts that clock after each response, so it is also the
//! keep-alive idle timeout), must not fall silent for longer than [`IDLE_TIMEOUT`] while
//! sending a body, and a request gets [`REQUEST_TIMEOUT`] in all. At most `max` connections
//! are open: a new one beyond that asks the oldest to close, which an idle or half-open
//! connection does at once and a busy one after its current response, so the newest
//! client (a health check, a person) is served while the oldest is shed. Only when twice
//! the limit are open and none closes within [`SHED_WAIT`] is a new one turned away.

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

use crate::idle_io::IdleIo;

/// Time to send a request's headers, and the keep-alive idle timeout.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest silence while a request body is being sent.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest time for one request, body and answer included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a new connection waits for closing ones to go when twice the limit are open
/// (connections beyond the limit are accepted while the oldest close).
const SHED_WAIT: Duration = Duration::from_millis(500);
/// Connections younger than this are shed only when no older idle one is left: a client
/// that just connected (in a burst of others) gets its turn to send a request.
const MIN_AGE: Duration = Duration::from_secs(1);

/// Open connections, oldest first.
#[derive(Debug, Default)]
struct Open {
    next_id: u64,
    list: VecDeque<Conn>,
}

#[derive(Debug)]
struct Conn {
    id: u64,
    since: Instant,
    /// Requests being answered.
    busy: Arc<AtomicUsize>,
    /// Asks the connection to close.
    close: Arc<Notify>,
    /// Asked already (a busy connection finishes its response first).
    closing: bool,
}

impl Open {
    /// Asks one connection to close: the oldest that is idle and has been open for
    /// [`MIN_AGE`], else the oldest idle one, else the oldest.
    fn shed_oldest(&mut self) {
        let now = Instant::now();
        let idle = |c: &Conn| !c.closing && c.busy.load(Ordering::Relaxed) == 0;
        let pick = (self.list.iter().position(|c| idle(c) && now.duration_since(c.since) >= MIN_AGE))
            .or_else(|| self.list.iter().position(idle))
            .or_else(|| self.list.iter().position(|c| !c.closing));
        if let Some(conn) = pick.and_then(|at| self.list.get_mut(at)) {
            conn.closing = true;
            conn.close.notify_one();
        }
    }
}

/// Serves `app` on `listener` until `stop` turns true, with at most `max` connections.
pub async fn serve(listener: TcpListener, app: Router, max: usize, mut stop: watch::Receiver<bool>) -> io::Result<()> {
    let open = Arc::new(Mutex::new(Open::default()));
    let mut accept_errors = 0u64;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|stop| *stop) => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of descriptors, most likely: shed the oldest connection and retry.
                accept_errors += 1;
                if accept_errors.is_power_of_two() {
                    ::log::warn!("HTTP: cannot accept a connection ({accept_errors} times so far): {e}");
                }
                open.lock().unwrap_or_else(PoisonError::into_inner).shed_oldest();
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        // Over the hard cap every open connection is closing already: give them a moment
        // to finish (an idle one closes at once) before this one is turned away.
        let mut waited = Duration::ZERO;
        while open.lock().unwrap_or_else(PoisonError::into_inner).list.len() >= 2 * max {
            if waited >= SHED_WAIT {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
            waited += Duration::from_millis(2);
        }
        let (id, close, busy) = {
            let mut open = open.lock().unwrap_or_else(PoisonError::into_inner);
            if open.list.len() >= 2 * max {
                ::log::warn!("HTTP: {} connections open and none closes; refusing one", open.list.len());
                continue; // dropping the stream closes it
            }
            if open.list.iter().filter(|c| !c.closing).count() >= max {
                // The oldest closes now if idle, or after its response if busy.
                open.shed_oldest();
            }
            open.next_id += 1;
            let close = Arc::new(Notify::new());
            let id = open.next_id;
            let busy = Arc::new(AtomicUsize::new(0));
            open.list.push_back(Conn {
                id,
                since: Instant::now(),
                busy: busy.clone(),
                close: close.clone(),
                closing: false,
            });
            (id, close, busy)
        };
        // Requests of this connection being answered: one that has none is closed at once
        // when asked (hyper's graceful shutdown would wait for a first request that a
        // half-open connection never completes).
        let service = {
            let inner = TowerToHyperService::new(app.clone());
            let busy = busy.clone();
            hyper::service::service_fn(move |request| {
                busy.fetch_add(1, Ordering::Relaxed);
                let answer = hyper::service::Service::call(&inner, request);
                let busy = busy.clone();
                async move {
                    let response = answer.await;
                    busy.fetch_sub(1, Ordering::Relaxed);
                    response
                }
            })
        };
        let open = open.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let io = TokioIo::new(IdleIo::new(stream, HEADER_TIMEOUT, IDLE_TIMEOUT));
            let mut builder = http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT).keep_alive(true);
            let conn = builder.serve_connection(io, service);
            tokio::pin!(conn);
            let asked_to_close = tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        ::log::debug!("HTTP connection ended: {e}");
                    }
                    false
                }
                () = close.notified() => true,
                _ = stop.wait_for(|stop| *stop) => true,
            };
            if asked_to_close && busy.load(Ordering::Relaxed) > 0 {
                conn.as_mut().graceful_shutdown();
                if tokio::time::timeout(REQUEST_TIMEOUT, conn.as_mut()).await.is_err() {
                    ::log::debug!("HTTP connection closed before its response was done");
                }
            }
            let mut open = open.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(at) = open.list.iter().position(|c| c.id == id) {
                open.list.remove(at);
            }
        });
        // Let the new connection's task read its request before more are accepted, so a
        // burst of connections behind it cannot shed it before it is served.
        tokio::task::yield_now().await;
    }
    Ok(())
}

/// The default connection limit: a quarter of the open-files limit (the rest is for gRPC,
/// the persistence file and the process), between 16 and 1,024.
pub fn default_max_connections() -> usize {
    crate::idle_io::open_files_limit().map_or(256, |n| (n / 4).clamp(16, 1024))
}
