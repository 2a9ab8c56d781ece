//! Client errors as store errors: short messages for callers, details in the log, and never a
//! credential in either.

use kurrentdb::{ClientSettingsParseError, Error};

use crate::StoreError;

/// Maps a failed request; `action` names it (`append`, `read stream`, ...).
pub fn client_error(error: Error, action: &'static str) -> StoreError {
    tracing::warn!(%error, action, "kurrentdb request failed");
    let unavailable =
        |reason: &str| StoreError::Unavailable(format!("kurrentdb {action}: {reason}"));
    match &error {
        Error::ConnectionClosed => unavailable("the connection is closed"),
        Error::GrpcConnectionError(_) => unavailable("cannot reach the server"),
        Error::DeadlineExceeded => unavailable("the request timed out"),
        Error::NotLeaderException(_) => unavailable("the node is not the leader"),
        Error::ServerError(status) if status.starts_with("status: Unavailable") => {
            unavailable("the server is unavailable")
        }
        Error::Grpc { code, .. }
            if matches!(
                format!("{code:?}").as_str(),
                "Unavailable" | "DeadlineExceeded" | "Cancelled" | "ResourceExhausted"
            ) =>
        {
            unavailable("the server is unavailable")
        }
        // The server refuses appends larger than its `MaxAppendSize` (1 MiB by default).
        Error::Grpc { message, .. } if message.to_ascii_lowercase().contains("append size") => {
            StoreError::Backend(format!(
                "kurrentdb {action}: larger than the server's MaxAppendSize; raise it or lower the store limits"
            ))
        }
        Error::AccessDenied => StoreError::Backend(format!("kurrentdb {action}: access denied")),
        Error::ResourceDeleted => {
            StoreError::Backend(format!("kurrentdb {action}: the stream was deleted"))
        }
        _ => StoreError::Backend(format!("kurrentdb {action} failed")),
    }
}

/// The user-info part of a connection string (`user:password`), if any.
fn user_info(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    rest[..authority_end]
        .rsplit_once('@')
        .map(|(info, _)| info)
        .filter(|info| !info.is_empty())
}

/// `text` with the connection string's credentials masked.
pub fn redact(text: &str, url: &str) -> String {
    let mut text = text.to_owned();
    if let Some(info) = user_info(url) {
        text = text.replace(info, "***");
        if let Some((_, password)) = info.split_once(':').filter(|(_, p)| !p.is_empty()) {
            text = text.replace(password, "***");
        }
    }
    text
}

/// A connection string the client rejects.
pub fn url_error(url: &str, error: &ClientSettingsParseError) -> StoreError {
    let reason = if error.message() == url {
        match error.error() {
            Some(cause) => format!("not a valid url ({cause})"),
            None => "not a valid url".to_owned(),
        }
    } else {
        redact(error.message(), url)
    };
    StoreError::Unavailable(format!(
        "url: invalid kurrentdb connection string: {reason}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_masked() {
        let url = "kurrentdb://admin:changeit@db.local:2113?tls=false";
        assert_eq!(user_info(url), Some("admin:changeit"));
        assert_eq!(
            redact("bad host admin:changeit@db.local", url),
            "bad host ***@db.local"
        );
        assert_eq!(redact("password changeit", url), "password ***");
        assert_eq!(user_info("esdb://db.local:2113?tls=false"), None);
        assert_eq!(user_info("esdb://db.local:2113/?x=a@b"), None);
    }

    #[test]
    fn invalid_urls_name_the_field_without_credentials() {
        let url = "kurrentdb://admin:changeit@db.local:notaport";
        let parsed = url.parse::<kurrentdb::ClientSettings>();
        let Err(error) = parsed else {
            panic!("{url} must not parse");
        };
        let message = url_error(url, &error).to_string();
        assert!(message.contains("url:"), "{message}");
        assert!(!message.contains("changeit"), "{message}");
    }
}
