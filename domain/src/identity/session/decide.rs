//! Session decisions.

use std::net::IpAddr;

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use crate::aggregate::CommandContext;
use crate::error::DomainError;
use crate::identity::Sha256Digest;

use super::{RevocationReason, SessionEvent, SessionState};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionCommand {
    /// `refresh_hash` is SHA-256 of the first refresh token; `expires_at` the family's absolute
    /// end (at most [`MAX_LIFETIME`] after now); `user_security_version` the user's at login.
    Start {
        id: Uuid,
        user_id: Uuid,
        organization_id: Uuid,
        refresh_hash: Sha256Digest,
        expires_at: DateTime<Utc>,
        ip: Option<IpAddr>,
        user_security_version: u64,
    },
    /// A client presents a refresh token (`presented_hash`) and will get `new_hash`'s token if
    /// the decision is [`super::RotationOutcome::Rotated`].
    Rotate {
        presented_hash: Sha256Digest,
        new_hash: Sha256Digest,
        now: DateTime<Utc>,
    },
    Revoke {
        reason: RevocationReason,
    },
}

/// Absolute lifetime of a refresh-token family.
pub const MAX_LIFETIME: TimeDelta = TimeDelta::days(7);
/// How many spent digests a session remembers to detect re-use (7 days of 15-minute access
/// tokens is 672 rotations).
pub const MAX_SPENT_HASHES: usize = 1000;

pub fn decide(
    state: &SessionState,
    command: SessionCommand,
    context: &CommandContext,
) -> Result<Vec<SessionEvent>, DomainError> {
    match command {
        SessionCommand::Start {
            id,
            user_id,
            organization_id,
            refresh_hash,
            expires_at,
            ip,
            user_security_version,
        } => {
            if state.exists() {
                return Err(DomainError::AlreadyExists("session"));
            }
            if expires_at <= context.now {
                return Err(DomainError::invalid("expiresAt", "must be in the future"));
            }
            if expires_at - context.now > MAX_LIFETIME {
                return Err(DomainError::invalid(
                    "expiresAt",
                    "must be at most 7 days away",
                ));
            }
            Ok(vec![SessionEvent::Started {
                id,
                user_id,
                organization_id,
                refresh_hash,
                expires_at,
                ip,
                user_security_version,
            }])
        }
        _ if !state.exists() => Err(DomainError::NotFound("session")),
        SessionCommand::Rotate {
            presented_hash,
            new_hash,
            now,
        } => rotate(state, presented_hash, new_hash, now),
        SessionCommand::Revoke { reason } => Ok(if state.is_revoked() {
            Vec::new()
        } else {
            vec![SessionEvent::Revoked { reason }]
        }),
    }
}

fn rotate(
    state: &SessionState,
    presented_hash: Sha256Digest,
    new_hash: Sha256Digest,
    now: DateTime<Utc>,
) -> Result<Vec<SessionEvent>, DomainError> {
    if state.is_revoked() {
        return Err(DomainError::InvalidState("session revoked".into()));
    }
    if now >= state.expires_at {
        return Err(DomainError::InvalidState("session expired".into()));
    }
    if state.holds(&presented_hash) {
        if state.holds(&new_hash) || state.has_spent(&new_hash) {
            return Err(DomainError::invalid(
                "newHash",
                "must be the digest of a fresh token",
            ));
        }
        return Ok(vec![SessionEvent::Rotated {
            refresh_hash: new_hash,
        }]);
    }
    if state.has_spent(&presented_hash) {
        return Ok(vec![
            SessionEvent::ReuseDetected { presented_hash },
            SessionEvent::Revoked {
                reason: RevocationReason::Reuse,
            },
        ]);
    }
    Err(DomainError::Forbidden("invalid refresh token".into()))
}
