//! Positions in the global log.
//!
//! A position is a pair, as in KurrentDB: `commit` orders transactions, `prepare` orders events
//! inside one. The embedded store uses its gapless sequence for both; PostgreSQL uses the
//! writing transaction's id (`pg_current_xact_id()`) and the row's sequence; KurrentDB its own.
//! Ordering is lexicographic, which is the order in which the global log is delivered.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LogPosition {
    pub commit: u64,
    pub prepare: u64,
}

impl LogPosition {
    /// The position before every event.
    pub const START: LogPosition = LogPosition {
        commit: 0,
        prepare: 0,
    };

    /// A position where commit and prepare coincide (the embedded store).
    pub fn sequential(position: u64) -> Self {
        Self {
            commit: position,
            prepare: position,
        }
    }
}

impl fmt::Display for LogPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.commit == self.prepare {
            write!(f, "{}", self.commit)
        } else {
            write!(f, "{}/{}", self.commit, self.prepare)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid log position {0:?}: expected N or COMMIT/PREPARE")]
pub struct ParsePositionError(pub String);

impl FromStr for LogPosition {
    type Err = ParsePositionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || ParsePositionError(text.to_owned());
        match text.split_once('/') {
            None => text
                .parse()
                .map(LogPosition::sequential)
                .map_err(|_| error()),
            Some((commit, prepare)) => Ok(LogPosition {
                commit: commit.parse().map_err(|_| error())?,
                prepare: prepare.parse().map_err(|_| error())?,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse_round_trip() {
        for position in [
            LogPosition::sequential(42),
            LogPosition {
                commit: 7,
                prepare: 99,
            },
        ] {
            assert_eq!(position.to_string().parse::<LogPosition>(), Ok(position));
        }
        assert!("x/1".parse::<LogPosition>().is_err());
        assert!("".parse::<LogPosition>().is_err());
    }

    #[test]
    fn order_is_commit_then_prepare() {
        let early_tx_late_row = LogPosition {
            commit: 5,
            prepare: 100,
        };
        let late_tx_early_row = LogPosition {
            commit: 6,
            prepare: 10,
        };
        assert!(early_tx_late_row < late_tx_early_row);
    }
}
