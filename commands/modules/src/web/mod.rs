//! Modules of the web group.

use crate::registry::Entry;

/// The modules of this group.
pub fn modules() -> Vec<Entry> {
    Vec::new()
}
