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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use async_trait::async_trait;
    use modules::{Input, ModuleContext, ModuleError, Output};

    use super::*;

    static META: ModuleMeta = ModuleMeta {
        id: "flaky",
        name: "Flaky",
        description: "Fails transiently until its third call.",
        version: "1",
        consumes: &["INTERNET_NAME"],
        produces: &["IP_ADDRESS"],
        passive: true,
        options: &[],
        rate_per_second: 2,
        per_host_per_second: 1,
        required_keys: &[],
        budget_option: Some("maxPages"),
    };

    static ACTIVE: ModuleMeta = ModuleMeta {
        id: "active",
        passive: false,
        rate_per_second: 0,
        per_host_per_second: 0,
        budget_option: None,
        ..META
    };

    /// A module that fails `failures` times, then answers.
    struct Flaky {
        calls: AtomicU32,
        failures: u32,
    }

    #[async_trait]
    impl Module for Flaky {
        fn meta(&self) -> &'static ModuleMeta {
            &META
        }

        async fn handle(
            &self,
            _input: &Input,
            _context: &ModuleContext,
        ) -> Result<Vec<Output>, ModuleError> {
            let call = self.calls.fetch_add(1, Ordering::SeqCst);
            if call < self.failures {
                return Err(ModuleError::Transient(format!("attempt {call}")));
            }
            Ok(vec![Output::new("IP_ADDRESS", "192.0.2.1")])
        }
    }

    fn flaky(failures: u32) -> Arc<Flaky> {
        Arc::new(Flaky {
            calls: AtomicU32::new(0),
            failures,
        })
    }

    #[test]
    fn governor_limits_per_module_and_per_host() {
        let slot = Slot::new(&META, flaky(0));
        let limiter = slot.limiter.as_ref().unwrap();
        assert!(limiter.check().is_ok() && limiter.check().is_ok());
        assert!(
            limiter.check().is_err(),
            "a third item within the second waits"
        );
        let hosts = slot.host_limiter.as_ref().unwrap();
        assert!(hosts.check_key(&"a.example.com".to_owned()).is_ok());
        assert!(hosts.check_key(&"a.example.com".to_owned()).is_err());
        assert!(
            hosts.check_key(&"b.example.com".to_owned()).is_ok(),
            "hosts are separate"
        );
        assert!(
            Slot::new(&ACTIVE, flaky(0)).limiter.is_none(),
            "0 = unlimited"
        );
    }

    #[test]
    fn routing_follows_types_scope_distance_and_budgets() {
        let options = ScanOptions {
            max_pages: 2,
            ..ScanOptions::default()
        };
        let slots = vec![
            Arc::new(Slot::new(&META, flaky(0))),
            Arc::new(Slot::new(&ACTIVE, flaky(0))),
        ];
        let mut router = Router::new(slots, &options);
        let ids = |routed: Vec<Arc<Slot>>| routed.iter().map(|s| s.meta.id).collect::<Vec<_>>();
        assert_eq!(
            ids(router.route("INTERNET_NAME", 0, "target")),
            ["flaky", "active"]
        );
        assert_eq!(
            ids(router.route("INTERNET_NAME", 1, "target")),
            ["flaky"],
            "active stays in scope"
        );
        assert!(
            router.route("INTERNET_NAME", 2, "target").is_empty(),
            "beyond maxScopeDistance"
        );
        assert!(
            router.route("EMAILADDR", 0, "target").is_empty(),
            "not consumed"
        );
        assert_eq!(
            ids(router.route("INTERNET_NAME", 0, "flaky")),
            ["active"],
            "a passive module is not fed its own findings, and its budget of 2 is spent"
        );
    }

    #[tokio::test]
    async fn transient_failures_are_retried_and_permanent_ones_reported() {
        let options = ScanOptions::default();
        let context = ModuleContext {
            net: Arc::new(
                modules::net::ScanNet::new(Arc::new(modules::Egress::public_only()), &options)
                    .unwrap(),
            ),
            options: Arc::new(options),
            scope: Arc::new(domain::scan::Scope::default()),
        };
        let input = Input {
            id: uuid::Uuid::now_v7(),
            kind: "INTERNET_NAME",
            value: "a.example.com".into(),
            depth: 0,
            scope_distance: 0,
        };
        let module = flaky(2);
        let slot = Arc::new(Slot::new(&ACTIVE, module.clone()));
        let timeout = std::time::Duration::from_secs(5);
        let result = super::super::work::execute(
            slot.clone(),
            input.clone(),
            "t".into(),
            context.clone(),
            timeout,
        )
        .await;
        assert_eq!(result.error, None);
        assert_eq!(result.outputs.len(), 1);
        assert_eq!(module.calls.load(Ordering::SeqCst), 3, "two retries");
        let hopeless = flaky(10);
        let slot = Arc::new(Slot::new(&ACTIVE, hopeless.clone()));
        let result = super::super::work::execute(slot, input, "t".into(), context, timeout).await;
        assert!(result.error.unwrap().contains("attempt 2"));
        assert_eq!(
            hopeless.calls.load(Ordering::SeqCst),
            3,
            "gives up after two retries"
        );
    }
}
