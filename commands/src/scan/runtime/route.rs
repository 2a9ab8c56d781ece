//! Which modules get which finding: by consumed type, scope distance and budget.

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use modules::{Module, ModuleMeta, ScanOptions};

/// One module taking part in a run, with its rate limiters.
pub struct Slot {
    pub meta: &'static ModuleMeta,
    pub module: Arc<dyn Module>,
    pub limiter: Option<DefaultDirectRateLimiter>,
    pub host_limiter: Option<DefaultKeyedRateLimiter<String>>,
}

impl Slot {
    pub fn new(meta: &'static ModuleMeta, module: Arc<dyn Module>) -> Self {
        Self {
            meta,
            module,
            limiter: NonZeroU32::new(meta.rate_per_second)
                .map(|rate| RateLimiter::direct(Quota::per_second(rate))),
            host_limiter: NonZeroU32::new(meta.per_host_per_second)
                .map(|rate| RateLimiter::keyed(Quota::per_second(rate))),
        }
    }
}

/// The routing table of one run.
pub struct Router {
    slots: Vec<Arc<Slot>>,
    /// Items routed per slot so far this run, for budgets.
    routed: Vec<u64>,
    budgets: Vec<Option<u64>>,
    max_distance: u8,
}

impl Router {
    pub fn new(slots: Vec<Arc<Slot>>, options: &ScanOptions) -> Self {
        let budgets = slots
            .iter()
            .map(|slot| {
                slot.meta
                    .budget_option
                    .and_then(|name| options.global_int(name))
            })
            .collect();
        Self {
            routed: vec![0; slots.len()],
            slots,
            budgets,
            max_distance: options.max_scope_distance,
        }
    }

    /// The modules that should handle a finding of `kind` at `distance`. Active modules only
    /// touch in-scope things (distance 0); passive ones go as far as `maxScopeDistance`.
    /// Counts against budgets, so call it once per finding, in stream order.
    pub fn route(&mut self, kind: &str, distance: u8, produced_by: &str) -> Vec<Arc<Slot>> {
        let mut chosen = Vec::new();
        if distance > self.max_distance {
            return chosen;
        }
        for (index, slot) in self.slots.iter().enumerate() {
            if !slot.meta.consumes.contains(&kind) {
                continue;
            }
            if !slot.meta.passive && distance > 0 {
                continue;
            }
            // A passive module does not re-handle what it produced itself (no feedback loops);
            // the spider follows its own links by design.
            if slot.meta.passive && slot.meta.id == produced_by {
                continue;
            }
            if let Some(budget) = self.budgets[index]
                && self.routed[index] >= budget
            {
                continue;
            }
            self.routed[index] += 1;
            chosen.push(slot.clone());
        }
        chosen
    }
}
