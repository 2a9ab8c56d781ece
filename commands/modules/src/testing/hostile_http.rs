//! A hostile HTTP server on loopback, written on raw TCP so it can break the protocol: endless
//! and chained redirects, redirects to the cloud metadata address and to loopback spelled as a
//! decimal number, as hex and as an IPv4-mapped IPv6 address, a 1 GB body (generated lazily),
//! slowloris bodies and heads, binary garbage labelled `text/html`, a header bomb, a broken
//! status line and an answer that is not HTTP at all.
//!
//! Routes (`GET`):
//! - `/`: `301` to `/ok`. `/ok`: a small HTML page linking to `/ok2`.
//! - `/loop`: `302` to itself. `/hop/N`: `302` to `/hop/N-1`; `/hop/0` is a page.
//! - `/metadata`: `302` to `http://169.254.169.254/latest/meta-data/`.
//! - `/decimal`, `/hex`, `/mapped`: `302` to `/ok` on 127.0.0.1 and this server's port,
//!   spelled `http://2130706433:PORT`, `http://0x7f.1:PORT` and
//!   `http://[::ffff:127.0.0.1]:PORT`.
//! - `/file`: `302` to `file:///etc/passwd`. `/no-location`: `302` without `Location`.
//! - `/huge` (and `/robots.txt`): 1 GiB of `a`, streamed until the client goes away.
//! - `/slow`: headers, then one body byte every 2 s. `/slow-head`: the head one byte every 2 s.
//! - `/stall`: reads the request and never answers.
//! - `/garbage`: 64 KiB of pseudo-random bytes as `text/html`.
//! - `/headers`: 10,000 headers of 1 KB each.
//! - `/bad-status`: an unparsable status line. `/not-http`: bytes that are not HTTP.
//! - anything else: `404`.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// The size of the `/huge` body.
pub const HUGE_BODY: u64 = 1 << 30;

/// A running hostile server; stops (with its connections) when dropped.
pub struct HostileHttp {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl HostileHttp {
    /// On 127.0.0.1.
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1").await
    }

    /// On another loopback address (`127.0.0.2`), so a test can allow this server and still
    /// see redirects to 127.0.0.1 refused.
    pub async fn start_on(ip: &str) -> Self {
        let listener = TcpListener::bind((ip, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        connections.spawn(serve(stream, addr.port()));
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        Self { addr, task }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDRESS:PORT<path>`.
    pub fn url(&self, path: &str) -> url::Url {
        url::Url::parse(&format!("http://{}{path}", self.addr)).unwrap()
    }
}

impl Drop for HostileHttp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut stream: TcpStream, port: u16) {
    let Some(path) = read_request_path(&mut stream).await else {
        return;
    };
    let _ = respond(&mut stream, &path, port).await;
}

/// Reads the request head (at most 16 KiB) and returns the path of its request line.
async fn read_request_path(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buffer = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        if head.len() > 16 * 1024 {
            return None;
        }
        let n = stream.read(&mut buffer).await.ok()?;
        if n == 0 {
            return None;
        }
        head.extend_from_slice(&buffer[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    let line = text.lines().next()?;
    line.split_whitespace().nth(1).map(str::to_owned)
}

async fn respond(stream: &mut TcpStream, path: &str, port: u16) -> std::io::Result<()> {
    match path {
        "/ok" | "/hop/0" => {
            page(
                stream,
                "<html><body><a href=\"/ok2\">next</a> hello</body></html>",
            )
            .await
        }
        "/" => redirect(stream, "/ok").await,
        "/loop" => redirect(stream, "/loop").await,
        "/metadata" => redirect(stream, "http://169.254.169.254/latest/meta-data/").await,
        "/decimal" => redirect(stream, &format!("http://2130706433:{port}/ok")).await,
        "/hex" => redirect(stream, &format!("http://0x7f.1:{port}/ok")).await,
        "/mapped" => redirect(stream, &format!("http://[::ffff:127.0.0.1]:{port}/ok")).await,
        "/file" => redirect(stream, "file:///etc/passwd").await,
        "/no-location" => {
            stream
                .write_all(b"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await
        }
        "/huge" | "/robots.txt" => huge(stream).await,
        "/slow" => slow_body(stream).await,
        "/slow-head" => slow_head(stream).await,
        "/stall" => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        }
        "/garbage" => garbage(stream).await,
        "/headers" => header_bomb(stream).await,
        "/bad-status" => {
            stream
                .write_all(b"HTTP/1.1 99999999 WHAT\r\n\x00\x01\x02: \xff\r\n\r\n")
                .await
        }
        "/not-http" => stream.write_all(&noise(4096, 7)).await,
        _ => match path.strip_prefix("/hop/").and_then(|n| n.parse::<u32>().ok()) {
            Some(n) => redirect(stream, &format!("/hop/{}", n.saturating_sub(1))).await,
            None => {
                stream
                    .write_all(
                        b"HTTP/1.1 404 Not Found\r\ncontent-length: 9\r\nconnection: close\r\n\r\nnot found",
                    )
                    .await
            }
        },
    }
}

async fn page(stream: &mut TcpStream, body: &str) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await
}

async fn redirect(stream: &mut TcpStream, location: &str) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 302 Found\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await
}

/// 1 GiB of `a`, written 64 KiB at a time; never held in memory.
async fn huge(stream: &mut TcpStream) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {HUGE_BODY}\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await?;
    let chunk = vec![b'a'; 64 * 1024];
    let mut sent = 0u64;
    while sent < HUGE_BODY {
        stream.write_all(&chunk).await?;
        sent += chunk.len() as u64;
    }
    Ok(())
}

async fn slow_body(stream: &mut TcpStream) -> std::io::Result<()> {
    stream
        .write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 1000\r\nconnection: close\r\n\r\n",
        )
        .await?;
    for _ in 0..1000 {
        stream.write_all(b"x").await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    Ok(())
}

async fn slow_head(stream: &mut TcpStream) -> std::io::Result<()> {
    for byte in b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\nx-slow: yes\r\n\r\n" {
        stream.write_all(&[*byte]).await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    Ok(())
}

async fn garbage(stream: &mut TcpStream) -> std::io::Result<()> {
    let body = noise(64 * 1024, 42);
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&body).await
}

async fn header_bomb(stream: &mut TcpStream) -> std::io::Result<()> {
    stream
        .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\n")
        .await?;
    let value = "b".repeat(1000);
    for i in 0..10_000 {
        stream
            .write_all(format!("x-bomb-{i}: {value}\r\n").as_bytes())
            .await?;
    }
    stream
        .write_all(b"content-length: 2\r\nconnection: close\r\n\r\nok")
        .await
}

/// Deterministic pseudo-random bytes (xorshift), with plenty of `<`, NUL and invalid UTF-8.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[3]
        })
        .collect()
}
