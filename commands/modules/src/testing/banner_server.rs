//! TCP listeners on loopback that greet every connection with a fixed banner (SSH, SMTP), stay
//! silent, or answer an HTTP request, for port-scan tests and benchmarks.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub const SSH_BANNER: &[u8] = b"SSH-2.0-OpenSSH_9.6\r\n";
pub const SMTP_BANNER: &[u8] = b"220 smtp.example.test ESMTP\r\n";
/// What [`BannerServer::http`] answers to any request.
pub const HTTP_ANSWER: &[u8] =
    b"HTTP/1.0 200 OK\r\nServer: mirage-test/1.0\r\nContent-Length: 0\r\n\r\n";

/// What a listener does with each connection.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// Sends these bytes, then keeps the connection open until the client closes it.
    Banner(Vec<u8>),
    /// Says nothing, reads and discards until the client closes.
    Silent,
    /// Waits for a request, then sends [`HTTP_ANSWER`] and closes.
    Http,
}

/// One listener on 127.0.0.1; stops when dropped.
pub struct BannerServer {
    pub address: SocketAddr,
    task: JoinHandle<()>,
}

impl BannerServer {
    pub async fn start(behaviour: Behaviour) -> Self {
        Self::start_on("127.0.0.1:0".parse().unwrap(), behaviour).await
    }

    /// Listens on `bind` (e.g. `[::1]:0`).
    pub async fn start_on(bind: SocketAddr, behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind(bind).await.unwrap();
        let address = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let behaviour = behaviour.clone();
                tokio::spawn(async move {
                    let mut sink = [0u8; 1024];
                    match behaviour {
                        Behaviour::Banner(banner) => {
                            if stream.write_all(&banner).await.is_err() {
                                return;
                            }
                            while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
                        }
                        Behaviour::Silent => {
                            while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
                        }
                        Behaviour::Http => {
                            if matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {
                                let _ = stream.write_all(HTTP_ANSWER).await;
                            }
                        }
                    }
                });
            }
        });
        Self { address, task }
    }

    pub async fn ssh() -> Self {
        Self::start(Behaviour::Banner(SSH_BANNER.to_vec())).await
    }

    pub async fn smtp() -> Self {
        Self::start(Behaviour::Banner(SMTP_BANNER.to_vec())).await
    }

    pub async fn silent() -> Self {
        Self::start(Behaviour::Silent).await
    }

    pub async fn http() -> Self {
        Self::start(Behaviour::Http).await
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }
}

impl Drop for BannerServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A loopback port with nothing listening on it (bound, then released).
pub async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}
