//! WHOIS servers (RFC 3912, TCP) on loopback: fixed records per domain, referral chains
//! (IANA -> registry -> registrar), and hostile servers that never answer, never stop, or
//! answer with binary garbage.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the server does with each query.
#[derive(Debug, Clone)]
pub enum Mode {
    /// The record for the queried domain (lower-cased), else a "No match" line.
    Answers(BTreeMap<String, String>),
    /// Reads the query and never answers (keeps the connection open).
    Silent,
    /// Answers with an endless stream of record-like lines.
    Endless,
    /// Answers with binary garbage (NULs, invalid UTF-8), then closes.
    Garbage,
}

/// A WHOIS server on 127.0.0.1; stops when dropped.
pub struct WhoisServer {
    pub address: SocketAddr,
    queries: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl WhoisServer {
    pub async fn start(mode: Mode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let queries = Arc::new(Mutex::new(Vec::new()));
        let seen = queries.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let mode = mode.clone();
                let seen = seen.clone();
                tokio::spawn(async move { serve(stream, mode, seen).await });
            }
        });
        Self {
            address,
            queries,
            task,
        }
    }

    /// Answers `records` (domain, text) and "No match" for anything else.
    pub async fn answering<'a>(records: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let map = records
            .into_iter()
            .map(|(domain, text)| (domain.to_ascii_lowercase(), text.to_owned()))
            .collect();
        Self::start(Mode::Answers(map)).await
    }

    pub async fn silent() -> Self {
        Self::start(Mode::Silent).await
    }

    pub async fn endless() -> Self {
        Self::start(Mode::Endless).await
    }

    pub async fn garbage() -> Self {
        Self::start(Mode::Garbage).await
    }

    /// `127.0.0.1:port`, as `options.whoisServer` and referral lines spell it.
    pub fn host_port(&self) -> String {
        self.address.to_string()
    }

    /// The queries received so far, trimmed.
    pub fn queries(&self) -> Vec<String> {
        self.queries.lock().unwrap().clone()
    }
}

impl Drop for WhoisServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A referral chain for `domain`: an IANA-like server (`refer:`) pointing to a registry
/// (thin record with `Registrar WHOIS Server:`) pointing to a registrar (full record naming
/// `registrar`). Returns (iana, registry, registrar).
pub async fn referral_chain(
    domain: &str,
    registrar: &str,
) -> (WhoisServer, WhoisServer, WhoisServer) {
    let registrar_record = format!(
        "Domain Name: {}\r\nRegistrar: {registrar}\r\nRegistrant Email: owner@{domain}\r\n\
         Name Server: ns1.{domain}\r\n>>> Last update of WHOIS database <<<\r\n",
        domain.to_ascii_uppercase()
    );
    let registrar_server = WhoisServer::answering([(domain, registrar_record.as_str())]).await;
    let registry_record = format!(
        "   Domain Name: {}\r\n   Registrar WHOIS Server: {}\r\n   Registrar: {registrar}\r\n",
        domain.to_ascii_uppercase(),
        registrar_server.host_port()
    );
    let registry_server = WhoisServer::answering([(domain, registry_record.as_str())]).await;
    let iana_record = format!(
        "% IANA WHOIS server\r\n\r\ndomain:       TEST\r\n\r\nrefer:        {}\r\n",
        registry_server.host_port()
    );
    let iana = WhoisServer::answering([(domain, iana_record.as_str())]).await;
    (iana, registry_server, registrar_server)
}

async fn serve(mut stream: TcpStream, mode: Mode, seen: Arc<Mutex<Vec<String>>>) {
    let Some(query) = read_query(&mut stream).await else {
        return;
    };
    seen.lock().unwrap().push(query.clone());
    match mode {
        Mode::Answers(records) => {
            let answer = records
                .get(&query.to_ascii_lowercase())
                .cloned()
                .unwrap_or_else(|| format!("No match for \"{}\".\r\n", query.to_uppercase()));
            let _ = stream.write_all(answer.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
        Mode::Silent => {
            let mut sink = [0u8; 256];
            while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
        }
        Mode::Endless => {
            let line = b"Registrar: Endless Registrar, Inc. (this line repeats forever)\r\n";
            let block: Vec<u8> = line.iter().copied().cycle().take(line.len() * 64).collect();
            while stream.write_all(&block).await.is_ok() {}
        }
        Mode::Garbage => {
            let garbage: Vec<u8> = (0..4096u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect();
            let _ = stream.write_all(&garbage).await;
            let _ = stream.shutdown().await;
        }
    }
}

/// The query line, at most 1 KiB, within 5 seconds.
async fn read_query(stream: &mut TcpStream) -> Option<String> {
    let mut query = Vec::new();
    let mut byte = [0u8; 1];
    let read = async {
        while query.len() < 1024 {
            match stream.read(&mut byte).await {
                Ok(1) if byte[0] == b'\n' => break,
                Ok(1) => query.push(byte[0]),
                _ => break,
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .ok()?;
    Some(String::from_utf8_lossy(&query).trim().to_owned())
}
