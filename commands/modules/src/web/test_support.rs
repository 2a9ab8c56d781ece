//! Contexts and inputs for the web modules' tests: a scan whose egress guard allows loopback
//! (or only public addresses) and whose scope is 127.0.0.1 plus `example.com`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use domain::scan::{Scope, ScopeEntry};

use crate::egress::Egress;
use crate::module::{Input, ModuleContext, Output};
use crate::net::ScanNet;
use crate::options::ScanOptions;

/// Options with a short timeout.
pub fn options(timeout: Duration) -> ScanOptions {
    ScanOptions {
        timeout_ms: timeout.as_millis() as u64,
        ..ScanOptions::default()
    }
}

/// Loopback allowed; 127.0.0.1 and example.com in scope.
pub fn loopback(options: ScanOptions) -> ModuleContext {
    context(
        Egress::parse_allow_list("127.0.0.0/8,::1/128").unwrap(),
        options,
    )
}

/// Public addresses only; 127.0.0.1 and example.com in scope all the same.
pub fn public_only(options: ScanOptions) -> ModuleContext {
    context(Egress::public_only(), options)
}

fn context(egress: Egress, options: ScanOptions) -> ModuleContext {
    let egress = Arc::new(egress);
    let net = ScanNet::new(egress, &options).unwrap();
    ModuleContext {
        options: Arc::new(options),
        net: Arc::new(net),
        scope: Arc::new(Scope::new(vec![
            ScopeEntry::Network("127.0.0.1/32".parse().unwrap()),
            ScopeEntry::Domain("example.com".into()),
        ])),
    }
}

pub fn input(kind: &'static str, value: impl Into<String>, depth: u32) -> Input {
    Input {
        id: uuid::Uuid::now_v7(),
        kind,
        value: value.into(),
        depth,
        scope_distance: 0,
    }
}

/// The values of the outputs of one type.
pub fn values(outputs: &[Output], kind: &str) -> Vec<String> {
    outputs
        .iter()
        .filter(|o| o.kind == kind)
        .map(|o| o.value.clone())
        .collect()
}
