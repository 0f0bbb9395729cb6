//! A socket that gives up when its peer goes quiet.
//!
//! Wraps a connection's IO so that a read which waits longer than the allowed time fails
//! with `TimedOut`, which makes the server drop the connection: a peer that opens a
//! connection and sends nothing (before its first byte the wait is short), or trickles a
//! request a byte at a time, holds a socket for a bounded time only.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{sleep, Instant, Sleep};

/// A connection whose reads time out.
#[derive(Debug)]
pub struct IdleIo<T> {
    inner: T,
    /// Fires when the peer has been silent too long.
    deadline: Pin<Box<Sleep>>,
    /// Allowed silence once the peer has sent something.
    idle: Duration,
    started: bool,
}

impl<T> IdleIo<T> {
    /// Wraps `inner`: the first byte must come within `first`, each later one within `idle`
    /// of the one before.
    pub fn new(inner: T, first: Duration, idle: Duration) -> Self {
        Self { inner, deadline: Box::pin(sleep(first)), idle, started: false }
    }

    /// The wrapped connection.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleIo<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    self.started = true;
                    let next = Instant::now() + self.idle;
                    self.deadline.as_mut().reset(next);
                }
                Poll::Ready(result)
            }
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    let what = if self.started { "idle" } else { "silent after connecting" };
                    Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, format!("peer {what} too long"))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleIo<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// The soft limit on open files of this process (Linux: from `/proc/self/limits`), or
/// `None` when unknown. Connection limits are derived from it so that accepting never
/// fails for want of a descriptor.
pub fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_silent_peer_times_out_and_a_talking_one_does_not() {
        let (mut client, server) = tokio::io::duplex(64);
        let ms = Duration::from_millis;
        let mut io = IdleIo::new(server, ms(200), ms(1000));
        client.write_all(b"x").await.expect("write");
        let mut buf = [0u8; 8];
        assert_eq!(io.read(&mut buf).await.expect("first byte in time"), 1);
        // Quiet for longer than the first-byte wait but not the idle one: still fine.
        tokio::time::sleep(ms(400)).await;
        client.write_all(b"y").await.expect("write");
        assert_eq!(io.read(&mut buf).await.expect("within idle"), 1);
        let started = std::time::Instant::now();
        let err = io.read(&mut buf).await.expect_err("silence beyond idle");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= ms(900));

        let (_quiet, server) = tokio::io::duplex(64);
        let mut io = IdleIo::new(server, ms(200), ms(1000));
        let err = io.read(&mut buf).await.expect_err("nothing sent after connecting");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    #[test]
    fn reads_the_open_files_limit() {
        if cfg!(target_os = "linux") {
            assert!(open_files_limit().is_some_and(|n| n > 0));
        }
    }
}
