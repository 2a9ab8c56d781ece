//! Test helpers shared by the dns modules' tests.

use std::net::SocketAddr;
use std::sync::Arc;

use domain::scan::Scope;
use uuid::Uuid;

use crate::egress::Egress;
use crate::module::{Input, ModuleContext, Output};
use crate::net::ScanNet;
use crate::options::ScanOptions;

/// Options whose resolver is `resolver`, with a short timeout.
pub fn options(resolver: SocketAddr) -> ScanOptions {
    ScanOptions {
        resolvers: vec![resolver],
        timeout_ms: 1_000,
        ..ScanOptions::default()
    }
}

/// A context whose egress allows loopback.
pub fn context(options: ScanOptions) -> ModuleContext {
    context_with(
        options,
        Egress::parse_allow_list("127.0.0.0/8,::1/128").unwrap(),
    )
}

pub fn context_with(options: ScanOptions, egress: Egress) -> ModuleContext {
    let net = ScanNet::new(Arc::new(egress), &options).unwrap();
    ModuleContext {
        options: Arc::new(options),
        net: Arc::new(net),
        scope: Arc::new(Scope::default()),
    }
}

/// A context for `resolver` with loopback allowed.
pub fn context_for(resolver: SocketAddr) -> ModuleContext {
    context(options(resolver))
}

/// A context for `resolver` whose egress guard allows nothing private.
pub fn refusing_context(resolver: SocketAddr) -> ModuleContext {
    context_with(options(resolver), Egress::public_only())
}

pub fn input(kind: &'static str, value: &str) -> Input {
    Input {
        id: Uuid::now_v7(),
        kind,
        value: value.to_owned(),
        depth: 0,
        scope_distance: 0,
    }
}

/// The sorted values of the outputs of one kind.
pub fn values(outputs: &[Output], kind: &str) -> Vec<String> {
    let mut values: Vec<String> = outputs
        .iter()
        .filter(|output| output.kind == kind)
        .map(|output| output.value.clone())
        .collect();
    values.sort();
    values
}
