//! TCP connections through the egress guard: connect to a checked address with a timeout,
//! connect to a host name after resolving it, and read what a server says first (its banner).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use domain::scan::normalise::canonical_ip;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::egress::Egress;
use crate::net::{NetError, ScanNet};

/// How long a banner read waits for more bytes once the server has started talking.
const BANNER_GRACE: Duration = Duration::from_millis(100);

/// Connects to `address` after the egress guard allowed it, within `timeout`.
///
/// The address is dialled in canonical form (`::ffff:a.b.c.d` becomes `a.b.c.d`), the form
/// the guard judged.
pub async fn connect(
    egress: &Egress,
    address: SocketAddr,
    timeout: Duration,
) -> Result<TcpStream, NetError> {
    let ip = canonical_ip(address.ip());
    egress.check(ip)?;
    let target = SocketAddr::new(ip, address.port());
    let stream = tokio::time::timeout(timeout, TcpStream::connect(target))
        .await
        .map_err(|_| NetError::Timeout)?
        .map_err(|error| NetError::Io(format!("connect to {target}: {error}")))?;
    // Only a latency tweak; a failure here changes nothing about the connection.
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// Connects to `host` (a host name or an IP literal) on `port`, trying each allowed address
/// in turn with the scan's timeout.
pub async fn connect_host(net: &ScanNet, host: &str, port: u16) -> Result<TcpStream, NetError> {
    let addresses = resolve(net, host).await?;
    let mut last_error = NetError::Other(format!("{host} has no address"));
    for ip in addresses {
        match connect(&net.egress, SocketAddr::new(ip, port), net.timeout).await {
            Ok(stream) => return Ok(stream),
            Err(error) => last_error = error,
        }
    }
    Err(last_error)
}

/// The addresses of `host` the egress guard allows, in the resolver's order (IP literals are
/// checked and passed through).
async fn resolve(net: &ScanNet, host: &str) -> Result<Vec<IpAddr>, NetError> {
    net.dns.resolve_for_connect(host).await
}

/// Reads what the server sends first, for at most `wait`, keeping at most `max_bytes`.
///
/// Returns `None` when the server said nothing (stayed silent or closed the connection).
/// Once bytes arrive, the read stops at `max_bytes`, at end of stream, or when the server
/// pauses briefly, so a one-line banner does not cost the whole `wait`.
pub async fn read_banner<S>(
    stream: &mut S,
    max_bytes: usize,
    wait: Duration,
) -> Result<Option<Vec<u8>>, NetError>
where
    S: AsyncRead + Unpin + ?Sized,
{
    let deadline = Instant::now() + wait;
    let mut banner = Vec::new();
    let mut chunk = [0u8; 1024];
    while banner.len() < max_bytes {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let mut budget = deadline - now;
        if !banner.is_empty() {
            budget = budget.min(BANNER_GRACE);
        }
        let wanted = chunk.len().min(max_bytes - banner.len());
        match tokio::time::timeout(budget, stream.read(&mut chunk[..wanted])).await {
            Err(_) => break,
            Ok(Ok(0)) => break,
            Ok(Ok(read)) => banner.extend_from_slice(&chunk[..read]),
            Ok(Err(error)) if banner.is_empty() => return Err(NetError::from(error)),
            Ok(Err(_)) => break,
        }
    }
    Ok((!banner.is_empty()).then_some(banner))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    use super::*;
    use crate::options::ScanOptions;

    fn loopback() -> Egress {
        Egress::parse_allow_list("127.0.0.0/8,::1/128").unwrap()
    }

    #[tokio::test]
    async fn connect_refuses_loopback_under_public_only_egress() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let error = connect(&Egress::public_only(), address, Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(matches!(error, NetError::Refused(_)), "{error:?}");
        let mapped: SocketAddr = format!("[::ffff:127.0.0.1]:{}", address.port())
            .parse()
            .unwrap();
        let error = connect(&Egress::public_only(), mapped, Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(matches!(error, NetError::Refused(_)), "{error:?}");
    }

    #[tokio::test]
    async fn a_banner_is_read_and_capped_and_silence_is_none() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut talker, _) = listener.accept().await.unwrap();
            talker.write_all(b"SSH-2.0-Test\r\n").await.unwrap();
            let (_silent, _) = listener.accept().await.unwrap();
            let (mut flood, _) = listener.accept().await.unwrap();
            let block = [b'x'; 4096];
            while flood.write_all(&block).await.is_ok() {}
        });
        let egress = loopback();
        let wait = Duration::from_millis(300);

        let mut stream = connect(&egress, address, wait).await.unwrap();
        let banner = read_banner(&mut stream, 256, wait).await.unwrap();
        assert_eq!(banner.as_deref(), Some(&b"SSH-2.0-Test\r\n"[..]));

        let mut stream = connect(&egress, address, wait).await.unwrap();
        let started = Instant::now();
        assert_eq!(read_banner(&mut stream, 256, wait).await.unwrap(), None);
        assert!(started.elapsed() < Duration::from_secs(2));

        let mut stream = connect(&egress, address, wait).await.unwrap();
        let banner = read_banner(&mut stream, 1000, wait).await.unwrap().unwrap();
        assert_eq!(banner.len(), 1000);
    }

    #[tokio::test]
    async fn connect_host_dials_ip_literals_and_reports_closed_ports() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let options = ScanOptions {
            timeout_ms: 1000,
            ..ScanOptions::default()
        };
        let net = ScanNet::new(Arc::new(loopback()), &options).unwrap();
        assert!(connect_host(&net, "127.0.0.1", port).await.is_ok());
        drop(listener);
        let error = connect_host(&net, "127.0.0.1", port).await.unwrap_err();
        assert!(matches!(error, NetError::Io(_)), "{error:?}");

        let public = ScanNet::new(Arc::new(Egress::public_only()), &options).unwrap();
        let error = connect_host(&public, "127.0.0.1", port).await.unwrap_err();
        assert!(matches!(error, NetError::Refused(_)), "{error:?}");
    }
}
