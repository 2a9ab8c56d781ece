//! The findings one extractor collects from one input: de-duplicated and capped.

use std::collections::HashSet;

use super::MAX_OUTPUTS;
use crate::module::Output;

/// Collects outputs, dropping repeats of a (type, value) pair and everything past
/// [`MAX_OUTPUTS`].
#[derive(Default)]
pub(crate) struct Findings {
    seen: HashSet<(&'static str, String)>,
    outputs: Vec<Output>,
}

impl Findings {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether no more outputs are accepted; extractors stop scanning then.
    pub fn is_full(&self) -> bool {
        self.outputs.len() >= MAX_OUTPUTS
    }

    /// Adds `output` unless it repeats one already collected or the cap is reached.
    pub fn push(&mut self, output: Output) {
        if self.is_full() {
            return;
        }
        if self.seen.insert((output.kind, output.value.clone())) {
            self.outputs.push(output);
        }
    }

    pub fn into_outputs(self) -> Vec<Output> {
        self.outputs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_dropped_and_the_cap_holds() {
        let mut findings = Findings::new();
        findings.push(Output::new("HASH", "a"));
        findings.push(Output::new("HASH", "a"));
        findings.push(Output::new("BASE64_DATA", "a"));
        assert_eq!(findings.into_outputs().len(), 2);
        let mut findings = Findings::new();
        for i in 0..MAX_OUTPUTS + 10 {
            findings.push(Output::new("HASH", i.to_string()));
        }
        assert!(findings.is_full());
        assert_eq!(findings.into_outputs().len(), MAX_OUTPUTS);
    }
}
