//! DNS messages on the wire: building queries, decoding answers and checking that an answer is
//! the answer to the question asked (same id, a response, the very question).

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RecordType};

use crate::net::NetError;

/// The UDP payload size announced with EDNS(0); larger answers come truncated and are asked
/// again over TCP.
pub(super) const MAX_UDP_PAYLOAD: u16 = 4096;

/// The shortest possible DNS message: the header.
pub(super) const HEADER_LEN: usize = 12;

/// Parses a host or zone name into a fully qualified DNS name.
pub fn dns_name(text: &str) -> Result<Name, NetError> {
    let trimmed = text.trim().trim_end_matches('.');
    let not_a_name = || {
        NetError::Other(format!(
            "{:?} is not a DNS name",
            trimmed.chars().take(100).collect::<String>()
        ))
    };
    if trimmed.is_empty() || trimmed.len() > 253 || !trimmed.is_ascii() {
        return Err(not_a_name());
    }
    let mut name = Name::from_ascii(trimmed).map_err(|_| not_a_name())?;
    name.set_fqdn(true);
    Ok(name)
}

/// A name as findings carry it: lower case, without the trailing dot.
pub fn name_text(name: &Name) -> String {
    name.to_ascii().trim_end_matches('.').to_ascii_lowercase()
}

/// The question for `name`/`record_type` in class IN.
pub(super) fn question(name: Name, record_type: RecordType) -> Query {
    let mut query = Query::query(name, record_type);
    query.set_query_class(DNSClass::IN);
    query
}

/// Encodes a query. `recursion` asks a resolver to recurse; zone transfers go to
/// authoritative servers and do not.
pub(super) fn encode_query(
    id: u16,
    question: &Query,
    recursion: bool,
) -> Result<Vec<u8>, NetError> {
    let mut message = Message::new(id, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = recursion;
    message.add_query(question.clone());
    if question.query_type() != RecordType::AXFR {
        let mut edns = Edns::new();
        edns.set_max_payload(MAX_UDP_PAYLOAD);
        message.set_edns(edns);
    }
    message
        .to_vec()
        .map_err(|error| NetError::Other(format!("cannot encode the query: {error}")))
}

/// The id of a raw message, when it is long enough to be one.
pub(super) fn raw_id(bytes: &[u8]) -> Option<u16> {
    (bytes.len() >= HEADER_LEN).then(|| u16::from_be_bytes([bytes[0], bytes[1]]))
}

/// Decodes an answer and checks it answers `question` under `id`.
pub(super) fn decode_answer(bytes: &[u8], id: u16, question: &Query) -> Result<Message, String> {
    let message =
        Message::from_vec(bytes).map_err(|error| format!("undecodable answer: {error}"))?;
    check_answer(&message, id, question)?;
    Ok(message)
}

/// An answer must carry the query's id, be a response and repeat exactly the question asked.
/// Servers that refuse or fail may leave the question out; that is accepted for error codes
/// only.
pub(super) fn check_answer(message: &Message, id: u16, question: &Query) -> Result<(), String> {
    let metadata = &message.metadata;
    if metadata.id != id {
        return Err(format!(
            "answer id {} does not match query id {id}",
            metadata.id
        ));
    }
    if metadata.message_type != MessageType::Response {
        return Err("the answer is not a response".into());
    }
    match message.queries.as_slice() {
        [asked] if asked == question => Ok(()),
        [] if !matches!(
            metadata.response_code,
            ResponseCode::NoError | ResponseCode::NXDomain
        ) =>
        {
            Ok(())
        }
        _ => Err(format!(
            "the answer does not repeat the question ({} {})",
            question.name(),
            question.query_type()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_fully_qualified_and_bad_names_are_refused() {
        assert_eq!(dns_name("Example.COM.").unwrap().to_ascii(), "Example.COM.");
        assert_eq!(name_text(&dns_name("Example.COM").unwrap()), "example.com");
        for bad in ["", ".", "ex ample..com", &"a".repeat(300), "exämple.com"] {
            assert!(dns_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn answers_must_match_id_type_and_question() {
        let asked = question(dns_name("www.example.test").unwrap(), RecordType::A);
        let mut answer = Message::response(7, OpCode::Query);
        answer.add_query(asked.clone());
        assert!(check_answer(&answer, 7, &asked).is_ok());
        assert!(check_answer(&answer, 8, &asked).is_err());

        let other = question(dns_name("evil.example.test").unwrap(), RecordType::A);
        assert!(check_answer(&answer, 7, &other).is_err());
        let other_type = question(dns_name("www.example.test").unwrap(), RecordType::AAAA);
        assert!(check_answer(&answer, 7, &other_type).is_err());

        let mut query = Message::new(7, MessageType::Query, OpCode::Query);
        query.add_query(asked.clone());
        assert!(check_answer(&query, 7, &asked).is_err());

        let mut refused = Message::error_msg(7, OpCode::Query, ResponseCode::Refused);
        assert!(check_answer(&refused, 7, &asked).is_ok());
        refused.metadata.response_code = ResponseCode::NoError;
        assert!(check_answer(&refused, 7, &asked).is_err());
    }

    #[test]
    fn a_query_round_trips() {
        let asked = question(dns_name("example.test").unwrap(), RecordType::MX);
        let bytes = encode_query(4242, &asked, true).unwrap();
        assert_eq!(raw_id(&bytes), Some(4242));
        let decoded = Message::from_vec(&bytes).unwrap();
        assert_eq!(decoded.queries, vec![asked]);
        assert!(decoded.metadata.recursion_desired);
        assert_eq!(raw_id(&bytes[..5]), None);
    }
}
