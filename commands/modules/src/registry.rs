//! Every module Mirage ships, and the dependency resolution that pulls in the producers of a
//! selected module's inputs.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::meta::ModuleMeta;
use crate::module::Module;

/// Builds a fresh module instance for one scan.
pub type Factory = fn() -> Arc<dyn Module>;

/// One registered module.
#[derive(Clone, Copy)]
pub struct Entry {
    pub meta: &'static ModuleMeta,
    pub create: Factory,
}

/// The modules a scan can use.
#[derive(Clone)]
pub struct Registry {
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("modules[{index}]: unknown module {id:?}")]
    UnknownModule { index: usize, id: String },
    #[error("modules: at least one module is needed")]
    NoModules,
}

impl Registry {
    pub fn new(entries: Vec<Entry>) -> Self {
        let mut entries = entries;
        entries.sort_by_key(|e| e.meta.id);
        Self { entries }
    }

    /// Every module Mirage ships.
    pub fn builtin() -> Self {
        Self::new(crate::builtin_modules())
    }

    pub fn metas(&self) -> impl Iterator<Item = &'static ModuleMeta> + '_ {
        self.entries.iter().map(|e| e.meta)
    }

    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.meta.id == id)
    }

    /// The selected modules plus, when `with_dependencies`, the producers of the inputs of every
    /// chosen module that nothing feeds yet (neither the targets, `seeded`, nor another chosen
    /// module), transitively. Sorted by id, without repeats.
    pub fn resolve(
        &self,
        selected: &[String],
        with_dependencies: bool,
        seeded: &[&str],
    ) -> Result<Vec<&'static ModuleMeta>, RegistryError> {
        if selected.is_empty() {
            return Err(RegistryError::NoModules);
        }
        let mut chosen = BTreeSet::new();
        for (index, id) in selected.iter().enumerate() {
            let entry = self.get(id).ok_or_else(|| RegistryError::UnknownModule {
                index,
                id: id.chars().take(100).collect(),
            })?;
            chosen.insert(entry.meta.id);
        }
        if with_dependencies {
            loop {
                let supplied: BTreeSet<&str> = chosen
                    .iter()
                    .filter_map(|id| self.get(id))
                    .flat_map(|e| e.meta.produces.iter().copied())
                    .chain(seeded.iter().copied())
                    .collect();
                // A module is fed when any of its inputs is supplied; a module with none
                // supplied pulls in the producers of all its inputs.
                let wanted: BTreeSet<&str> = chosen
                    .iter()
                    .filter_map(|id| self.get(id))
                    .filter(|e| !e.meta.consumes.iter().any(|kind| supplied.contains(kind)))
                    .flat_map(|e| e.meta.consumes.iter().copied())
                    .collect();
                let before = chosen.len();
                for entry in &self.entries {
                    if entry.meta.produces.iter().any(|p| wanted.contains(p)) {
                        chosen.insert(entry.meta.id);
                    }
                }
                if chosen.len() == before {
                    break;
                }
            }
        }
        Ok(chosen
            .into_iter()
            .filter_map(|id| self.get(id).map(|e| e.meta))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(metas: &[&'static ModuleMeta]) -> Vec<&'static str> {
        metas.iter().map(|m| m.id).collect()
    }

    #[test]
    fn the_builtin_registry_has_unique_ids_and_known_types() {
        let registry = Registry::builtin();
        let metas: Vec<_> = registry.metas().collect();
        assert!(metas.len() >= 20, "{} modules", metas.len());
        let mut seen = BTreeSet::new();
        for meta in &metas {
            assert!(seen.insert(meta.id), "duplicate id {}", meta.id);
            for kind in meta.consumes.iter().chain(meta.produces) {
                assert!(
                    domain::scan::types::known(kind).is_some(),
                    "{}: {kind}",
                    meta.id
                );
            }
            assert!(
                !meta.consumes.is_empty() && !meta.produces.is_empty(),
                "{}",
                meta.id
            );
        }
    }

    #[test]
    fn dependencies_feed_modules_nothing_else_feeds() {
        let registry = Registry::builtin();
        let selected = vec!["email_extract".to_owned()];
        // Alone, without dependency resolution.
        assert_eq!(
            ids(&registry.resolve(&selected, false, &[]).unwrap()),
            ["email_extract"]
        );
        // Seeded with a URL only: the spider feeds it web content.
        let resolved = ids(&registry
            .resolve(&selected, true, &["LINKED_URL_INTERNAL"])
            .unwrap());
        assert!(resolved.contains(&"web_spider"), "{resolved:?}");
        // A module its targets already feed pulls nothing in.
        let resolved = ids(&registry
            .resolve(&["dns_resolve".to_owned()], true, &["INTERNET_NAME"])
            .unwrap());
        assert_eq!(resolved, ["dns_resolve"]);
    }

    #[test]
    fn unknown_and_missing_modules_name_the_entry() {
        let registry = Registry::builtin();
        assert_eq!(
            registry
                .resolve(&["dns_resolve".into(), "nope".into()], true, &[])
                .unwrap_err(),
            RegistryError::UnknownModule {
                index: 1,
                id: "nope".into()
            }
        );
        assert_eq!(
            registry.resolve(&[], true, &[]).unwrap_err(),
            RegistryError::NoModules
        );
    }
}
