//! Binding, running and stopping the two servers on one tokio runtime.

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::{oneshot, watch};

use crate::config::CollectorConfig;
use crate::http::guard::Allowed;
use crate::store::Store;
use crate::{grpc, http, persist, CollectorError};

/// How long open streams and requests get to finish after a stop is asked for.
const GRACE: Duration = Duration::from_secs(2);
/// How often the store is written to the persistence file when it changed.
const PERSIST_EVERY: Duration = Duration::from_secs(5);

/// Both sockets bound and the store loaded, not yet serving. Connections made now wait in
/// the listen backlog until [`BoundCollector::run_blocking`] starts accepting.
#[derive(Debug)]
pub struct BoundCollector {
    grpc: TcpListener,
    http: TcpListener,
    grpc_addr: SocketAddr,
    http_addr: SocketAddr,
    store: Arc<Store>,
    persist_path: Option<PathBuf>,
    allowed: Allowed,
    max_connections: usize,
    max_streams: u32,
}

/// Binds both addresses and loads the persistence file, if any.
pub fn bind(config: CollectorConfig) -> Result<BoundCollector, CollectorError> {
    let grpc_err = |source| CollectorError::BindGrpc { addr: config.grpc_addr, source };
    let http_err = |source| CollectorError::BindHttp { addr: config.http_addr, source };
    let grpc = TcpListener::bind(config.grpc_addr).map_err(grpc_err)?;
    grpc.set_nonblocking(true).map_err(grpc_err)?;
    let grpc_addr = grpc.local_addr().map_err(grpc_err)?;
    let http = TcpListener::bind(config.http_addr).map_err(http_err)?;
    http.set_nonblocking(true).map_err(http_err)?;
    let http_addr = http.local_addr().map_err(http_err)?;
    let store = Arc::new(Store::new(config.limits));
    if let Some(path) = &config.persist_path {
        persist::load(path, &store).map_err(|source| CollectorError::Load { path: path.clone(), source })?;
    }
    let allowed = Allowed {
        hosts: config.allowed_hosts.iter().map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase()).collect(),
    };
    let max_connections = config.max_connections.unwrap_or_else(http::serve::default_max_connections).max(1);
    Ok(BoundCollector {
        grpc,
        http,
        grpc_addr,
        http_addr,
        store,
        persist_path: config.persist_path,
        allowed,
        max_connections,
        max_streams: config.max_streams_per_connection.max(1),
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, CollectorError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("sw-collector")
        .enable_all()
        .build()
        .map_err(CollectorError::Runtime)
}

impl BoundCollector {
    /// The bound gRPC address (with the real port when 0 was asked for).
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// The bound HTTP address.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The store the servers will write into.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Serves on a new runtime in the current thread until `stop` completes (it is polled on
    /// that runtime, so it may use tokio signals and timers), then drains for a moment and
    /// writes the persistence file one last time.
    pub fn run_blocking(self, stop: impl Future<Output = ()>) -> Result<(), CollectorError> {
        let rt = runtime()?;
        let result = rt.block_on(self.serve(stop));
        // Streams that outlived the grace period are cut here.
        rt.shutdown_timeout(Duration::from_millis(500));
        result
    }

    async fn serve(self, stop: impl Future<Output = ()>) -> Result<(), CollectorError> {
        let grpc = tokio::net::TcpListener::from_std(self.grpc)
            .map_err(|source| CollectorError::BindGrpc { addr: self.grpc_addr, source })?;
        let http = tokio::net::TcpListener::from_std(self.http)
            .map_err(|source| CollectorError::BindHttp { addr: self.http_addr, source })?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let stopped = |mut rx: watch::Receiver<bool>| async move {
            // An error means the sender is gone, which also means stop.
            let _ = rx.wait_for(|stop| *stop).await;
        };

        let routes = grpc::routes(self.store.clone());
        let incoming = grpc::incoming::Incoming::new(grpc, self.max_connections);
        let mut grpc_task = tokio::spawn(
            tonic::transport::Server::builder()
                // Both per connection: streams over the first are refused by HTTP/2 itself;
                // the second bounds the calls served at once, whatever the client negotiated.
                .max_concurrent_streams(Some(self.max_streams))
                .concurrency_limit_per_connection(self.max_streams as usize)
                .http2_keepalive_interval(Some(Duration::from_secs(60)))
                .http2_keepalive_timeout(Some(Duration::from_secs(20)))
                .http2_max_pending_accept_reset_streams(Some(32))
                .http2_max_header_list_size(Some(64 * 1024))
                .add_routes(routes)
                .serve_with_incoming_shutdown(incoming, stopped(stop_rx.clone())),
        );
        let app = http::router(self.store.clone(), self.grpc_addr, self.allowed.clone());
        let mut http_task = tokio::spawn(http::serve::serve(http, app, self.max_connections, stop_rx.clone()));
        let persist_task = self.persist_path.clone().map(|path| {
            let store = self.store.clone();
            let saved = store.generation();
            tokio::spawn(persist::periodically(path, store, saved, PERSIST_EVERY, stopped(stop_rx)))
        });

        // Run until asked to stop, or until a server dies on its own.
        let mut grpc_result = None;
        let mut http_result = None;
        tokio::select! {
            () = stop => {}
            r = &mut grpc_task => grpc_result = Some(join_grpc(r)),
            r = &mut http_task => http_result = Some(join_http(r)),
        }
        let _ = stop_tx.send(true);
        let drain = async {
            if grpc_result.is_none() {
                grpc_result = Some(join_grpc((&mut grpc_task).await));
            }
            if http_result.is_none() {
                http_result = Some(join_http((&mut http_task).await));
            }
        };
        if tokio::time::timeout(GRACE, drain).await.is_err() {
            ::log::info!("collector: open streams did not finish within {GRACE:?}; closing them");
            grpc_task.abort();
            http_task.abort();
        }
        if let Some(task) = persist_task {
            // The task writes the file a last time when it sees the stop.
            let _ = task.await;
        }
        grpc_result.unwrap_or(Ok(())).and(http_result.unwrap_or(Ok(())))
    }
}

fn join_grpc(r: Result<Result<(), tonic::transport::Error>, tokio::task::JoinError>) -> Result<(), CollectorError> {
    match r {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(CollectorError::Grpc(e)),
        Err(e) if e.is_cancelled() => Ok(()),
        Err(_) => Err(CollectorError::Panicked),
    }
}

fn join_http(r: Result<std::io::Result<()>, tokio::task::JoinError>) -> Result<(), CollectorError> {
    match r {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(CollectorError::Http(e)),
        Err(e) if e.is_cancelled() => Ok(()),
        Err(_) => Err(CollectorError::Panicked),
    }
}

/// Binds and serves on the current thread until `stop` completes (see
/// [`BoundCollector::run_blocking`]). Use [`bind`] first when the caller needs the bound
/// addresses before serving starts.
pub fn run_blocking(config: CollectorConfig, stop: impl Future<Output = ()>) -> Result<(), CollectorError> {
    bind(config)?.run_blocking(stop)
}

/// A collector running on its own thread; dropping it stops the collector too.
#[derive(Debug)]
pub struct CollectorHandle {
    grpc_addr: SocketAddr,
    http_addr: SocketAddr,
    store: Arc<Store>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<Result<(), CollectorError>>>,
}

/// Binds both addresses and serves on a background thread with its own runtime. Returns once
/// the sockets are bound, so clients may connect at once.
pub fn start(config: CollectorConfig) -> Result<CollectorHandle, CollectorError> {
    let bound = bind(config)?;
    let (grpc_addr, http_addr, store) = (bound.grpc_addr, bound.http_addr, bound.store.clone());
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("sw-collector-main".into())
        .spawn(move || {
            bound.run_blocking(async {
                // Err means the handle was dropped without a shutdown call: stop as well.
                let _ = stop_rx.await;
            })
        })
        .map_err(CollectorError::Runtime)?;
    Ok(CollectorHandle { grpc_addr, http_addr, store, stop: Some(stop_tx), thread: Some(thread) })
}

impl CollectorHandle {
    /// The bound gRPC address.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// The bound HTTP address.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The live store (for in-process tests: read segments, stats, or reset).
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Whether the servers are still running (false after a failure).
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stops both servers, waits for them (blocking the calling thread; at most about
    /// 2.5 s when a client keeps a stream open) and reports how they ended.
    pub fn shutdown(mut self) -> Result<(), CollectorError> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> Result<(), CollectorError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(thread) => thread.join().unwrap_or(Err(CollectorError::Panicked)),
            None => Ok(()),
        }
    }
}

impl Drop for CollectorHandle {
    fn drop(&mut self) {
        if let Err(e) = self.stop_and_join() {
            ::log::warn!("collector stopped with an error: {e}");
        }
    }
}
