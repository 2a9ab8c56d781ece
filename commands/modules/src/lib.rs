//! Collection modules and what they stand on.
//!
//! A module declares what finding types it consumes and produces ([`ModuleMeta`]); the scan
//! runtime (`commands::scan`) routes every new finding to every module consuming its type and
//! records what comes back as events. Modules never touch the event store, and every
//! connection they open goes through [`net`], which applies the egress guard.

pub mod egress;
pub mod meta;
pub mod module;
pub mod net;
pub mod options;
pub mod registry;
#[cfg(any(test, feature = "test-servers"))]
pub mod testing;

pub use egress::{Egress, EgressError};
pub use meta::{ModuleMeta, OptionKind, OptionSpec};
pub use module::{Input, Module, ModuleContext, ModuleError, Output};
pub use options::{OptionsError, ScanOptions};
pub use registry::Registry;

pub mod dns;
pub mod extract;
pub mod network;
pub mod web;

/// Every module Mirage ships.
pub fn builtin_modules() -> Vec<registry::Entry> {
    let mut all = dns::modules();
    all.extend(web::modules());
    all.extend(extract::modules());
    all.extend(network::modules());
    all
}
