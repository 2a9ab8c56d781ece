//! Modules of the extract group: passive extractors that read finding values (web pages,
//! response headers, WHOIS records, certificates, TXT records) and return what they find in
//! them. They do no network I/O.
//!
//! Every extractor is a pure function `extract(kind, value, scope) -> Vec<Output>`; the
//! [`Module`](crate::module::Module) impls only dispatch to it through [`run`], which moves large
//! inputs off the async threads. Each returns at most [`MAX_OUTPUTS`] findings per input and reads
//! at most [`MAX_INPUT_BYTES`] of it.

pub mod analytics_ids;
pub mod crypto_hashes;
pub mod email_extract;
pub mod forms_extract;
pub mod hostname_extract;
pub mod phone_extract;
pub mod tech_fingerprint;

mod certificate;
mod findings;
mod page;
mod text;

#[cfg(test)]
mod tests_live;

use domain::scan::Scope;

use crate::meta::ModuleMeta;
use crate::module::{Input, ModuleContext, ModuleError, Output};
use crate::registry::Entry;

/// The most findings one extractor returns for one input.
pub const MAX_OUTPUTS: usize = 500;

/// The most bytes of one input an extractor reads (web content is capped at 512 KiB upstream).
pub const MAX_INPUT_BYTES: usize = 1 << 20;

/// Inputs larger than this are handled on the blocking thread pool, so a big page never holds
/// an async worker for long.
const INLINE_LIMIT: usize = 64 * 1024;

/// An extractor: the input's type, its value and the scan's scope in, findings out.
pub type Extractor = fn(&str, &str, &Scope) -> Vec<Output>;

/// The modules of this group.
pub fn modules() -> Vec<Entry> {
    vec![
        analytics_ids::entry(),
        crypto_hashes::entry(),
        email_extract::entry(),
        forms_extract::entry(),
        hostname_extract::entry(),
        phone_extract::entry(),
        tech_fingerprint::entry(),
    ]
}

/// Runs `extract` on `input` for the module described by `meta`: refuses input types the module
/// does not consume, and runs large inputs on the blocking pool.
pub(crate) async fn run(
    meta: &'static ModuleMeta,
    input: &Input,
    context: &ModuleContext,
    extract: Extractor,
) -> Result<Vec<Output>, ModuleError> {
    if !meta.consumes.contains(&input.kind) {
        return Err(ModuleError::Failed(format!(
            "{} does not handle {} findings",
            meta.id, input.kind
        )));
    }
    let value = text::prefix(&input.value, MAX_INPUT_BYTES);
    if value.len() <= INLINE_LIMIT {
        return Ok(extract(input.kind, value, &context.scope));
    }
    let kind = input.kind;
    let value = value.to_owned();
    let scope = context.scope.clone();
    tokio::task::spawn_blocking(move || extract(kind, &value, &scope))
        .await
        .map_err(|error| ModuleError::Failed(format!("{} failed: {error}", meta.id)))
}

/// Compiles one of the extractors' built-in patterns. They are all covered by tests, so a
/// failure here is a bug; it is logged and the pattern then matches nothing.
pub(crate) fn compile(pattern: &str) -> Option<regex::bytes::Regex> {
    match regex::bytes::Regex::new(pattern) {
        Ok(regex) => Some(regex),
        Err(error) => {
            tracing::error!(%error, pattern, "built-in extractor pattern does not compile");
            None
        }
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Builds what the extractors' tests need: a module context and inputs.
    use std::sync::Arc;

    use domain::scan::{Scope, ScopeEntry};

    use crate::egress::Egress;
    use crate::module::{Input, ModuleContext, Output};
    use crate::net::ScanNet;
    use crate::options::ScanOptions;

    /// `example.com` and everything below it.
    pub fn scope() -> Scope {
        Scope::new(vec![ScopeEntry::Domain("example.com".into())])
    }

    /// A module context for `scope`; building it does no network I/O.
    pub fn context(scope: Scope) -> ModuleContext {
        let options = ScanOptions::default();
        let net = ScanNet::new(Arc::new(Egress::public_only()), &options).unwrap();
        ModuleContext {
            options: Arc::new(options),
            net: Arc::new(net),
            scope: Arc::new(scope),
        }
    }

    pub fn input(kind: &'static str, value: impl Into<String>) -> Input {
        Input {
            id: uuid::Uuid::now_v7(),
            kind,
            value: value.into(),
            depth: 0,
            scope_distance: 0,
        }
    }

    /// The values of the outputs of type `kind`, sorted.
    pub fn values(outputs: &[Output], kind: &str) -> Vec<String> {
        let mut values: Vec<String> = outputs
            .iter()
            .filter(|o| o.kind == kind)
            .map(|o| o.value.clone())
            .collect();
        values.sort();
        values
    }

    /// Pseudo-random bytes turned into a string (lossy), deterministic per seed.
    pub fn garbage(seed: u64, len: usize) -> String {
        let mut state = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 33) as u8
            })
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Characters the extractors look for, in random order: a harder fuzz than plain bytes.
    pub fn token_soup(seed: u64, len: usize) -> String {
        const PIECES: &[&str] = &[
            "@", ".", "com", "a", "1", "0", "+", "00", "-", " ", "<", ">", "\"", "'", "=", "form",
            "script", "src", "action", "input", "type", "password", "file", "http://", "//", "é",
            "€", "UA-", "G-", "GTM-", "bc1", "1", "3", "/", "%40", "&#64;", "tel:", "example",
            "ff", "\n", "mailto:", "[at]", "ß", "\u{0}", "x.", "AAAA", "==",
        ];
        let mut state = seed | 1;
        let mut out = String::new();
        while out.len() < len {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            out.push_str(PIECES[(state % PIECES.len() as u64) as usize]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;
    use domain::scan::types;

    #[test]
    fn every_extractor_is_registered_passive_and_unique() {
        let entries = modules();
        assert_eq!(entries.len(), 7);
        let mut ids: Vec<_> = entries.iter().map(|e| e.meta.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 7);
        for entry in &entries {
            assert!(entry.meta.passive, "{}", entry.meta.id);
            assert_eq!((entry.create)().meta().id, entry.meta.id);
            for kind in entry.meta.consumes.iter().chain(entry.meta.produces) {
                assert!(types::known(kind).is_some(), "{kind}");
            }
        }
    }

    #[tokio::test]
    async fn an_unsupported_input_type_is_refused() {
        let context = context(scope());
        for entry in modules() {
            let module = (entry.create)();
            let error = module
                .handle(&input(types::TCP_PORT_OPEN, "192.0.2.1:80"), &context)
                .await
                .unwrap_err();
            assert!(matches!(error, ModuleError::Failed(_)), "{error}");
        }
    }

    #[tokio::test]
    async fn garbage_and_huge_inputs_never_panic_and_outputs_are_capped() {
        let context = context(scope());
        let mut inputs = Vec::new();
        for seed in 0..6 {
            inputs.push(garbage(seed, 20_000));
            inputs.push(token_soup(seed, 20_000));
        }
        inputs.push(format!("http://example.com/\n{}", garbage(99, 512 * 1024)));
        inputs.push(format!(
            "http://example.com/\n{}",
            token_soup(98, 512 * 1024)
        ));
        // Many distinct findings of every kind in one big page.
        let mut many = String::from("https://www.example.com/\n");
        for i in 0..3_000 {
            many.push_str(&format!(
                "user{i}@host{i}.example.com +44 20 7946 {i:04} https://h{i}.example.net/ \
                 <script src=\"/s{i}.js\"></script> <form action=\"/f{i}\"></form> \
                 UA-1234{i}-1 {i:032x}\n"
            ));
        }
        inputs.push(many);
        // Shapes that would make a careless scanner quadratic or blow a buffer.
        let half_mib = 512 * 1024;
        for unit in [
            "<form ",
            "<script src=",
            "<meta ",
            "a.",
            "a@",
            "a-",
            "+1 ",
            "00",
            "0",
            "A",
            "/",
            "&#",
            "%40",
            "(at)",
            "bc1q",
            "1",
            "ff",
            "é",
            "x@y.",
            "tel:+",
        ] {
            inputs.push(format!(
                "https://example.com/\n{}",
                unit.repeat(half_mib / unit.len())
            ));
        }
        inputs.push(String::new());
        inputs.push("\n".into());
        inputs.push("not a url".into());
        for entry in modules() {
            let module = (entry.create)();
            for value in &inputs {
                for kind in entry.meta.consumes {
                    let outputs = module
                        .handle(&input(kind, value.clone()), &context)
                        .await
                        .unwrap();
                    assert!(outputs.len() <= MAX_OUTPUTS, "{}", entry.meta.id);
                }
            }
        }
    }
}
