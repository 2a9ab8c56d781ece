//! The module contract: given one finding, return new findings.

use std::sync::Arc;

use async_trait::async_trait;
use domain::scan::Scope;
use uuid::Uuid;

use crate::egress::EgressError;
use crate::meta::ModuleMeta;
use crate::net::{NetError, ScanNet};
use crate::options::ScanOptions;

/// The finding a module is asked to work on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub id: Uuid,
    pub kind: &'static str,
    pub value: String,
    /// How many findings of this same type precede it along its provenance chain (the web
    /// spider's link depth).
    pub depth: u32,
    pub scope_distance: u8,
}

/// A finding a module returns. The runtime normalises the value, drops duplicates and records
/// the rest with this module and the input as their parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub kind: &'static str,
    pub value: String,
    /// 0-100.
    pub confidence: u8,
    /// What the module saw that supports the finding (a DNS answer, an HTTP response head);
    /// the runtime keeps its SHA-256 with the finding.
    pub evidence: Option<String>,
}

impl Output {
    pub fn new(kind: &'static str, value: impl Into<String>) -> Self {
        Self {
            kind,
            value: value.into(),
            confidence: 100,
            evidence: None,
        }
    }

    pub fn confidence(mut self, confidence: u8) -> Self {
        self.confidence = confidence.min(100);
        self
    }

    pub fn evidence(mut self, evidence: impl Into<String>) -> Self {
        self.evidence = Some(evidence.into());
        self
    }
}

/// Why a module could not handle an input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModuleError {
    /// Worth retrying with back-off: a timeout, a refused connection, a server error.
    #[error("transient failure: {0}")]
    Transient(String),
    /// Retrying will not help: a malformed answer, an unsupported input.
    #[error("{0}")]
    Failed(String),
    /// The egress guard refused the destination.
    #[error(transparent)]
    Refused(#[from] EgressError),
}

impl ModuleError {
    pub fn is_transient(&self) -> bool {
        matches!(self, ModuleError::Transient(_))
    }
}

impl From<NetError> for ModuleError {
    fn from(error: NetError) -> Self {
        match error {
            NetError::Refused(refused) => ModuleError::Refused(refused),
            NetError::Timeout | NetError::Io(_) => ModuleError::Transient(error.to_string()),
            other => ModuleError::Failed(other.to_string()),
        }
    }
}

/// What a module works with during one scan.
#[derive(Clone)]
pub struct ModuleContext {
    pub options: Arc<ScanOptions>,
    pub net: Arc<ScanNet>,
    pub scope: Arc<Scope>,
}

/// A collection module. One instance serves one scan, so it may keep per-scan caches
/// (robots.txt rules, wildcard answers) behind a lock.
#[async_trait]
pub trait Module: Send + Sync {
    fn meta(&self) -> &'static ModuleMeta;

    async fn handle(
        &self,
        input: &Input,
        context: &ModuleContext,
    ) -> Result<Vec<Output>, ModuleError>;
}
