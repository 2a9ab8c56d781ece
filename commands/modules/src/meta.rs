//! What a module says about itself.

/// The type of a module option's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKind {
    Bool,
    Int,
    Str,
    StrList,
    IntList,
}

impl OptionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OptionKind::Bool => "boolean",
            OptionKind::Int => "integer",
            OptionKind::Str => "string",
            OptionKind::StrList => "list of strings",
            OptionKind::IntList => "list of integers",
        }
    }
}

/// One option a module understands, under `options.<module id>.<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionSpec {
    pub name: &'static str,
    pub kind: OptionKind,
    /// The default as JSON text.
    pub default: &'static str,
    pub description: &'static str,
}

/// A module's metadata: the registry, routing, rate limiting and the API read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModuleMeta {
    /// Stable id, `snake_case`, e.g. `dns_resolve`.
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub version: &'static str,
    /// Finding types this module is given.
    pub consumes: &'static [&'static str],
    /// Finding types this module may return.
    pub produces: &'static [&'static str],
    /// Passive modules never touch the target's own systems beyond ordinary lookups.
    pub passive: bool,
    pub options: &'static [OptionSpec],
    /// Work items per second for the whole module in one scan; 0 = no limit.
    pub rate_per_second: u32,
    /// Work items per second per host the input is about; 0 = no limit.
    pub per_host_per_second: u32,
    /// API keys the module needs, by name; empty for none.
    pub required_keys: &'static [&'static str],
    /// A global scan option capping how many items this module handles per scan
    /// (`maxPages` for the spider).
    pub budget_option: Option<&'static str>,
}
