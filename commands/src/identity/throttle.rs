//! Login throttling per account and per client address: every attempt counts (aliases and
//! batches included, since each login call is one attempt), failures back off exponentially.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

/// Failures allowed before an account backs off.
const ACCOUNT_FREE_FAILURES: u32 = 5;
/// Longest back-off of an account.
const ACCOUNT_MAX_LOCK: TimeDelta = TimeDelta::minutes(15);
/// Failures one address may cause per window, across accounts.
const ADDRESS_MAX_FAILURES: u32 = 50;
const WINDOW: TimeDelta = TimeDelta::minutes(15);
/// Entries kept before old ones are swept.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    window_start: DateTime<Utc>,
    locked_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Default)]
pub struct LoginThrottle {
    entries: Mutex<HashMap<String, Entry>>,
}

impl LoginThrottle {
    /// Whether an attempt for `account` from `address` may proceed now.
    pub fn allows(&self, account: &str, address: &str, now: DateTime<Utc>) -> bool {
        let Ok(entries) = self.entries.lock() else {
            return false;
        };
        let account_locked = entries
            .get(account)
            .and_then(|e| e.locked_until)
            .is_some_and(|until| now < until);
        let address_exhausted = entries
            .get(address)
            .is_some_and(|e| now - e.window_start < WINDOW && e.failures >= ADDRESS_MAX_FAILURES);
        !account_locked && !address_exhausted
    }

    /// Counts a failed attempt against both keys.
    pub fn failed(&self, account: &str, address: &str, now: DateTime<Utc>) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() > MAX_ENTRIES {
            entries.retain(|_, e| now - e.window_start < WINDOW);
        }
        for (key, is_account) in [(account, true), (address, false)] {
            let entry = entries.entry(key.to_owned()).or_insert(Entry {
                failures: 0,
                window_start: now,
                locked_until: None,
            });
            if now - entry.window_start >= WINDOW && entry.locked_until.is_none_or(|u| now >= u) {
                entry.failures = 0;
                entry.window_start = now;
            }
            entry.failures += 1;
            if is_account && entry.failures > ACCOUNT_FREE_FAILURES {
                let exponent = (entry.failures - ACCOUNT_FREE_FAILURES).min(12);
                let lock = TimeDelta::seconds(1_i64 << exponent).min(ACCOUNT_MAX_LOCK);
                entry.locked_until = Some(now + lock);
            }
        }
    }

    /// A successful login clears the account's failures (not the address's).
    pub fn succeeded(&self, account: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(account);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_backs_off_after_five_failures_and_recovers() {
        let throttle = LoginThrottle::default();
        let t0 = DateTime::<Utc>::UNIX_EPOCH + TimeDelta::days(1000);
        for i in 0..5 {
            assert!(throttle.allows("acct:a", &format!("ip:{i}"), t0));
            throttle.failed("acct:a", &format!("ip:{i}"), t0);
        }
        assert!(
            throttle.allows("acct:a", "ip:x", t0),
            "five failures are free"
        );
        throttle.failed("acct:a", "ip:x", t0);
        assert!(!throttle.allows("acct:a", "ip:y", t0), "from any address");
        assert!(
            throttle.allows("acct:b", "ip:y", t0),
            "other accounts are unaffected"
        );
        assert!(throttle.allows("acct:a", "ip:y", t0 + TimeDelta::seconds(3)));
        throttle.succeeded("acct:a");
        throttle.failed("acct:a", "ip:y", t0 + TimeDelta::seconds(3));
        assert!(throttle.allows("acct:a", "ip:y", t0 + TimeDelta::seconds(3)));
    }

    #[test]
    fn an_address_spraying_many_accounts_is_stopped() {
        let throttle = LoginThrottle::default();
        let t0 = DateTime::<Utc>::UNIX_EPOCH + TimeDelta::days(1000);
        for i in 0..ADDRESS_MAX_FAILURES {
            assert!(throttle.allows(&format!("acct:{i}"), "ip:1", t0));
            throttle.failed(&format!("acct:{i}"), "ip:1", t0);
        }
        assert!(!throttle.allows("acct:new", "ip:1", t0));
        assert!(throttle.allows("acct:new", "ip:2", t0));
        assert!(throttle.allows("acct:new", "ip:1", t0 + WINDOW));
    }
}
