//! What each verification step did in one run ([`CheckCounts`]): the
//! per-ring answer to "what does each check catch", kept beside
//! [`super::RunMetrics`] because its length is the model's number of
//! checks.

/// One check's verdicts in one run. A verdict is given on every output
/// the check would pass on while it is not quarantined; `caught` and
/// `missed` split the corrupted outputs, `failed_clean` and the rest of
/// `verdicts` the clean ones. Every failure (`caught + failed_clean`) is
/// exactly one retry, escalation or lost task.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckCounts {
    /// The check's agent index.
    pub agent: u32,
    pub verdicts: u64,
    /// Corrupted outputs failed.
    pub caught: u64,
    /// Corrupted outputs passed on.
    pub missed: u64,
    /// Clean outputs failed (the check's cost in clean work).
    pub failed_clean: u64,
    pub retries: u64,
    pub escalations: u64,
    /// Failures with no retry left and nowhere to escalate.
    pub lost: u64,
}

impl CheckCounts {
    /// The counts' names, as `checks.csv` gives them, in [`Self::values`] order.
    pub const NAMES: [&'static str; 7] =
        ["verdicts", "caught", "missed", "failed_clean", "retries", "escalations", "lost"];

    /// The counts, in [`Self::NAMES`] order.
    pub fn values(&self) -> [u64; 7] {
        [self.verdicts, self.caught, self.missed, self.failed_clean, self.retries, self.escalations, self.lost]
    }

    /// Counts from `values` in [`Self::values`] order.
    pub fn of(agent: u32, values: [u64; 7]) -> CheckCounts {
        let [verdicts, caught, missed, failed_clean, retries, escalations, lost] = values;
        CheckCounts { agent, verdicts, caught, missed, failed_clean, retries, escalations, lost }
    }

    /// Whether the counts add up: failures are at most the verdicts, and
    /// each is one retry, escalation or loss.
    pub fn check(&self) -> Result<(), String> {
        let failed = self.caught + self.failed_clean;
        if self.caught + self.missed + self.failed_clean > self.verdicts {
            return Err(format!("check {}: more outcomes than verdicts ({self:?})", self.agent));
        }
        if self.retries + self.escalations + self.lost != failed {
            return Err(format!("check {}: failures are not each a retry, escalation or loss ({self:?})", self.agent));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_or_are_refused() {
        let fine = CheckCounts {
            agent: 3,
            verdicts: 10,
            caught: 2,
            missed: 1,
            failed_clean: 1,
            retries: 2,
            escalations: 1,
            lost: 0,
        };
        assert_eq!(fine.check(), Ok(()));
        assert_eq!(fine.values(), [10, 2, 1, 1, 2, 1, 0]);
        assert_eq!(CheckCounts::of(3, fine.values()), fine);
        assert!(CheckCounts { verdicts: 3, ..fine }.check().unwrap_err().contains("more outcomes than verdicts"));
        assert!(CheckCounts { verdicts: 4, ..fine }.check().is_ok(), "exactly as many outcomes as verdicts");
        assert!(CheckCounts { lost: 1, ..fine }.check().unwrap_err().contains("each a retry"));
        assert!(CheckCounts { retries: 1, ..fine }.check().is_err());
    }
}
