//! Accepting gRPC connections: at most a fixed number at once, each of which must start
//! speaking HTTP/2 within [`FIRST_BYTE_TIMEOUT`] and not fall silent for longer than
//! [`IDLE_TIMEOUT`]. A connection over the limit is closed at once (an agent retries
//! later); an accept failure (out of descriptors) backs off instead of spinning.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;
use tokio_stream::Stream;
use tonic::transport::server::{Connected, TcpConnectInfo};

use crate::idle_io::IdleIo;

/// Time for a new connection to send its first bytes (the HTTP/2 preface).
pub const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest silence on a connection: agents stream segments and ping every 30 s or so
/// (keepAlive, command polling), so a quieter one is gone.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// The stream of accepted connections that tonic serves.
#[derive(Debug)]
pub struct Incoming {
    listener: TcpListener,
    open: Arc<AtomicUsize>,
    max: usize,
    backoff: Option<Pin<Box<Sleep>>>,
    refused: u64,
}

impl Incoming {
    /// Accepts from `listener`, at most `max` connections at once.
    pub fn new(listener: TcpListener, max: usize) -> Self {
        Self { listener, open: Arc::new(AtomicUsize::new(0)), max, backoff: None, refused: 0 }
    }
}

impl Stream for Incoming {
    type Item = io::Result<Conn>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if let Some(backoff) = self.backoff.as_mut() {
                if backoff.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.backoff = None;
            }
            match self.listener.poll_accept(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => {
                    ::log::warn!("gRPC: cannot accept a connection: {e}");
                    self.backoff = Some(Box::pin(tokio::time::sleep(Duration::from_millis(50))));
                }
                Poll::Ready(Ok((stream, peer))) => {
                    if self.open.load(Ordering::Relaxed) >= self.max {
                        self.refused += 1;
                        if self.refused.is_power_of_two() {
                            ::log::warn!(
                                "gRPC: {} connections open, the limit; refused {peer} ({} refused so far)",
                                self.max,
                                self.refused
                            );
                        }
                        continue; // dropping the stream closes it
                    }
                    let _ = stream.set_nodelay(true);
                    self.open.fetch_add(1, Ordering::Relaxed);
                    let slot = Slot(self.open.clone());
                    let io = IdleIo::new(stream, FIRST_BYTE_TIMEOUT, IDLE_TIMEOUT);
                    return Poll::Ready(Some(Ok(Conn { io, _slot: slot })));
                }
            }
        }
    }
}

/// Gives its place back when the connection closes.
#[derive(Debug)]
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One accepted gRPC connection.
#[derive(Debug)]
pub struct Conn {
    io: IdleIo<TcpStream>,
    _slot: Slot,
}

impl Connected for Conn {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.io.get_ref().connect_info()
    }
}

impl AsyncRead for Conn {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}
