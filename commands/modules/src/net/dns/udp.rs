//! DNS over UDP through a few shared sockets.
//!
//! Each socket has one reader task and a map from query id to the waiting query; a query takes
//! a random id that is free on its socket, sends (and re-sends) its datagram and waits for the
//! reader to hand it the answer. The reader accepts an answer only from the server the query
//! went to, under the query's id, decodable and repeating the question; anything else is
//! ignored (a garbled answer is remembered, so a query that then times out reports it as a
//! protocol error instead of a bare timeout). Sharing the sockets keeps thousands of queries
//! per second cheap, which the brute-force module needs.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hickory_proto::op::{Message, Query};
use tokio::net::UdpSocket;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::message::{decode_answer, encode_query, raw_id};
use crate::egress::canonical;
use crate::net::NetError;

/// Sockets per address family.
const SOCKETS_PER_FAMILY: usize = 4;

/// Queries waiting on one socket at most (ids are 16 bits; keep them sparse).
const MAX_PENDING_PER_SOCKET: usize = 8_192;

/// The largest datagram read.
const MAX_DATAGRAM: usize = 65_535;

/// Shortest interval between re-sends of an unanswered query.
const MIN_RESEND: Duration = Duration::from_millis(100);
/// A lost datagram costs at most this much: brute force sends hundreds of queries at once and a
/// busy server drops some; waiting a third of a 10 s timeout for each made the slowest loss the
/// scan's duration.
const MAX_RESEND: Duration = Duration::from_millis(750);

/// The shared sockets of one DNS client, opened on first use.
#[derive(Default)]
pub(super) struct UdpPool {
    v4: [Mutex<Option<Arc<Mux>>>; SOCKETS_PER_FAMILY],
    v6: [Mutex<Option<Arc<Mux>>>; SOCKETS_PER_FAMILY],
    next: AtomicUsize,
}

impl UdpPool {
    /// Asks `server` the question over UDP and returns its checked answer.
    pub(super) async fn exchange(
        &self,
        server: SocketAddr,
        question: &Query,
        timeout: Duration,
    ) -> Result<Message, NetError> {
        let mux = self.mux(server)?;
        mux.exchange(server, question, timeout).await
    }

    /// A live socket of the server's family, round-robin; a socket whose reader has stopped
    /// (its runtime is gone) is replaced.
    fn mux(&self, server: SocketAddr) -> Result<Arc<Mux>, NetError> {
        let slots = if server.is_ipv4() { &self.v4 } else { &self.v6 };
        let index = self.next.fetch_add(1, Ordering::Relaxed) % SOCKETS_PER_FAMILY;
        let mut slot = lock(&slots[index]);
        if let Some(mux) = slot.as_ref().filter(|mux| !mux.reader.is_finished()) {
            return Ok(mux.clone());
        }
        let mux = Arc::new(Mux::bind(server.is_ipv4())?);
        *slot = Some(mux.clone());
        Ok(mux)
    }
}

/// One socket, its reader task and its waiting queries.
struct Mux {
    shared: Arc<Shared>,
    reader: JoinHandle<()>,
}

impl Drop for Mux {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

struct Shared {
    socket: UdpSocket,
    pending: Mutex<HashMap<u16, Pending>>,
}

/// A query waiting for its answer.
struct Pending {
    server: SocketAddr,
    question: Query,
    sender: Option<oneshot::Sender<Message>>,
    /// The last garbled answer seen for this query.
    problem: Option<String>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Mux {
    fn bind(ipv4: bool) -> Result<Self, NetError> {
        let local: SocketAddr = if ipv4 {
            (Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = std::net::UdpSocket::bind(local)?;
        socket.set_nonblocking(true)?;
        let socket = UdpSocket::from_std(socket)?;
        let shared = Arc::new(Shared {
            socket,
            pending: Mutex::new(HashMap::new()),
        });
        let reader = tokio::spawn(read_answers(shared.clone()));
        Ok(Self { shared, reader })
    }

    async fn exchange(
        &self,
        server: SocketAddr,
        question: &Query,
        timeout: Duration,
    ) -> Result<Message, NetError> {
        let (id, mut receiver) = self.register(server, question)?;
        let registration = Registration {
            shared: &self.shared,
            id,
        };
        let bytes = encode_query(id, question, true)?;
        let deadline = Instant::now() + timeout;
        let resend_every = (timeout / 3).clamp(MIN_RESEND, MAX_RESEND.max(MIN_RESEND));
        loop {
            match tokio::time::timeout_at(deadline, self.shared.socket.send_to(&bytes, server))
                .await
            {
                Ok(Ok(_)) => {}
                Ok(Err(error)) => return Err(error.into()),
                Err(_) => break,
            }
            let wait_until = (Instant::now() + resend_every).min(deadline);
            match tokio::time::timeout_at(wait_until, &mut receiver).await {
                Ok(Ok(message)) => return Ok(message),
                Ok(Err(_)) => return Err(NetError::Io("the DNS reader stopped".into())),
                Err(_) if Instant::now() >= deadline => break,
                Err(_) => {}
            }
        }
        Err(registration
            .problem()
            .map(NetError::Protocol)
            .unwrap_or(NetError::Timeout))
    }

    /// Reserves a random id that is free on this socket.
    fn register(
        &self,
        server: SocketAddr,
        question: &Query,
    ) -> Result<(u16, oneshot::Receiver<Message>), NetError> {
        let mut pending = lock(&self.shared.pending);
        if pending.len() >= MAX_PENDING_PER_SOCKET {
            return Err(NetError::Io("too many DNS queries in flight".into()));
        }
        let (sender, receiver) = oneshot::channel();
        loop {
            let id: u16 = rand::random();
            if let std::collections::hash_map::Entry::Vacant(entry) = pending.entry(id) {
                entry.insert(Pending {
                    server,
                    question: question.clone(),
                    sender: Some(sender),
                    problem: None,
                });
                return Ok((id, receiver));
            }
        }
    }
}

/// Removes a query's entry however its wait ends (answer, timeout, cancellation).
struct Registration<'a> {
    shared: &'a Shared,
    id: u16,
}

impl Registration<'_> {
    fn problem(&self) -> Option<String> {
        lock(&self.shared.pending)
            .get(&self.id)
            .and_then(|pending| pending.problem.clone())
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        lock(&self.shared.pending).remove(&self.id);
    }
}

async fn read_answers(shared: Arc<Shared>) {
    let mut buffer = vec![0u8; MAX_DATAGRAM];
    loop {
        match shared.socket.recv_from(&mut buffer).await {
            Ok((length, from)) => deliver(&shared, &buffer[..length], from),
            Err(error) => {
                // ICMP errors surface here on some systems; they concern one server, not the
                // socket. Pause briefly so a persistent error cannot spin.
                tracing::debug!(%error, "dns socket receive error");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
}

fn same_endpoint(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port() && canonical(a.ip()) == canonical(b.ip())
}

/// Hands a datagram to the query it answers, if any.
fn deliver(shared: &Shared, bytes: &[u8], from: SocketAddr) {
    let Some(id) = raw_id(bytes) else {
        return;
    };
    let question = {
        let pending = lock(&shared.pending);
        match pending.get(&id) {
            Some(waiting) if same_endpoint(waiting.server, from) => waiting.question.clone(),
            _ => return,
        }
    };
    let outcome = decode_answer(bytes, id, &question);
    let mut pending = lock(&shared.pending);
    let Some(waiting) = pending.get_mut(&id) else {
        return;
    };
    // The id may have been freed and taken by another query meanwhile.
    if !same_endpoint(waiting.server, from) || waiting.question != question {
        return;
    }
    match outcome {
        Ok(message) => {
            if let Some(sender) = waiting.sender.take() {
                let _ = sender.send(message);
            }
        }
        Err(problem) => waiting.problem = Some(format!("{problem} (from {from})")),
    }
}
