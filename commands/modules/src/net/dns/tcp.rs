//! DNS over TCP: one question (after a truncated UDP answer) and zone transfers (AXFR).
//!
//! Messages are framed with a two-byte length, so one message is at most 64 KiB; a transfer
//! is bounded by a record cap, a per-message timeout and an overall deadline.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::message::{HEADER_LEN, check_answer, decode_answer, encode_query};
use crate::net::NetError;

/// A zone transfer may take this many per-operation timeouts in all.
const TRANSFER_TIMEOUTS: u32 = 10;

/// Asks `server` the question over TCP.
pub(super) async fn exchange(
    server: SocketAddr,
    question: &Query,
    timeout: Duration,
) -> Result<Message, NetError> {
    tokio::time::timeout(timeout, async {
        let mut stream = TcpStream::connect(server).await?;
        let id: u16 = rand::random();
        write_frame(&mut stream, &encode_query(id, question, true)?).await?;
        let bytes = read_frame(&mut stream).await?;
        decode_answer(&bytes, id, question).map_err(NetError::Protocol)
    })
    .await
    .map_err(|_| NetError::Timeout)?
}

/// Transfers the zone of `question` (an AXFR question) from `server`: its records, the
/// opening SOA first, without the closing SOA.
pub(super) async fn transfer(
    server: SocketAddr,
    question: &Query,
    timeout: Duration,
    max_records: usize,
) -> Result<Vec<Record>, NetError> {
    let deadline = Instant::now() + timeout * TRANSFER_TIMEOUTS;
    let mut stream = tokio::time::timeout(timeout, TcpStream::connect(server))
        .await
        .map_err(|_| NetError::Timeout)??;
    let id: u16 = rand::random();
    tokio::time::timeout(
        timeout,
        write_frame(&mut stream, &encode_query(id, question, false)?),
    )
    .await
    .map_err(|_| NetError::Timeout)??;

    let mut records: Vec<Record> = Vec::new();
    let mut first_message = true;
    loop {
        let read_until = (Instant::now() + timeout).min(deadline);
        let bytes = tokio::time::timeout_at(read_until, read_frame(&mut stream))
            .await
            .map_err(|_| NetError::Timeout)??;
        let message = Message::from_vec(&bytes).map_err(|error| {
            NetError::Protocol(format!("undecodable transfer message: {error}"))
        })?;
        if first_message {
            check_answer(&message, id, question).map_err(NetError::Protocol)?;
        } else if message.metadata.id != id {
            return Err(NetError::Protocol(
                "transfer message id does not match the query".into(),
            ));
        }
        match message.metadata.response_code {
            ResponseCode::NoError => {}
            code => {
                return Err(NetError::Other(format!(
                    "zone transfer of {} refused: {code}",
                    question.name()
                )));
            }
        }
        if message.answers.is_empty() {
            return Err(NetError::Protocol("empty zone transfer message".into()));
        }
        for record in message.answers {
            let is_soa = record.record_type() == RecordType::SOA;
            if records.is_empty() {
                if !is_soa {
                    return Err(NetError::Protocol(
                        "zone transfer does not start with the SOA record".into(),
                    ));
                }
            } else if is_soa {
                return Ok(records);
            }
            if records.len() >= max_records {
                return Err(NetError::Other(format!(
                    "zone transfer larger than {max_records} records"
                )));
            }
            records.push(record);
        }
        first_message = false;
    }
}

async fn write_frame(stream: &mut TcpStream, bytes: &[u8]) -> Result<(), NetError> {
    let length = u16::try_from(bytes.len())
        .map_err(|_| NetError::Other("query longer than 64 KiB".into()))?;
    let mut frame = Vec::with_capacity(bytes.len() + 2);
    frame.extend_from_slice(&length.to_be_bytes());
    frame.extend_from_slice(bytes);
    stream.write_all(&frame).await?;
    Ok(())
}

/// Reads one length-prefixed message (at most 64 KiB by construction).
async fn read_frame(stream: &mut TcpStream) -> Result<Vec<u8>, NetError> {
    let mut length = [0u8; 2];
    stream.read_exact(&mut length).await.map_err(closed)?;
    let length = usize::from(u16::from_be_bytes(length));
    if length < HEADER_LEN {
        return Err(NetError::Protocol(format!(
            "a {length}-byte DNS message is shorter than its header"
        )));
    }
    let mut bytes = vec![0u8; length];
    stream.read_exact(&mut bytes).await.map_err(closed)?;
    Ok(bytes)
}

fn closed(error: std::io::Error) -> NetError {
    if error.kind() == std::io::ErrorKind::UnexpectedEof {
        NetError::Protocol("the server closed the connection mid-message".into())
    } else {
        error.into()
    }
}
