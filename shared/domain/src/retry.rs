//! Retrying a transient failure inside a function before the message goes back to SQS:
//! exponential backoff with jitter, within a number of attempts, a total pause budget
//! and the time the invocation has left.
//!
//! Why in the function: a conflict on a shared row (two transactions adding to the same
//! day's counters) clears in milliseconds, but handed back to SQS it costs a whole
//! visibility timeout (minutes) and a receive, and a few of those in a row dead-letter a
//! good complaint.

use std::time::Duration;

/// How a handler retries a transient failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included (1: never retry).
    pub attempts: u32,
    /// The ceiling of the first pause; each later ceiling doubles.
    pub base: Duration,
    /// No single pause is longer than this.
    pub max_delay: Duration,
    /// The pauses of one message together are at most this long.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    /// Six attempts, pauses from 25–50 ms doubling up to 400–800 ms, at most 1.5 s of
    /// pauses in all: well inside a 30 s invocation, and long enough for the
    /// contention of a few hundred writers a second on one counter row to clear.
    fn default() -> Self {
        Self {
            attempts: 6,
            base: Duration::from_millis(50),
            max_delay: Duration::from_millis(800),
            budget: Duration::from_millis(1500),
        }
    }
}

impl RetryPolicy {
    /// Never retries (the failure goes straight back to the queue).
    pub fn none() -> Self {
        Self {
            attempts: 1,
            ..Self::default()
        }
    }

    /// The pause before retry number `retry` (1 = the first retry), or `None` when the
    /// message must go back to the queue instead: the attempts are used up, the pauses
    /// so far (`spent`) leave no budget, or the pause would not end before `time_left`
    /// (what the invocation may still use).
    ///
    /// The pause is "equal jitter": half the doubling ceiling, plus a random share of
    /// the other half taken from `random` (any value), so writers that collided once
    /// spread out instead of colliding again in step.
    pub fn backoff(
        &self,
        retry: u32,
        spent: Duration,
        random: u64,
        time_left: Duration,
    ) -> Option<Duration> {
        if retry == 0 || retry >= self.attempts {
            return None;
        }
        let doubling = 1u32.checked_shl(retry - 1).unwrap_or(u32::MAX);
        let ceiling = self
            .base
            .checked_mul(doubling)
            .map_or(self.max_delay, |c| c.min(self.max_delay));
        let half = ceiling / 2;
        let spread = half.as_micros() as u64;
        let jitter = if spread == 0 {
            Duration::ZERO
        } else {
            Duration::from_micros(random % (spread + 1))
        };
        let pause = (half + jitter).min(self.budget.saturating_sub(spent));
        if pause.is_zero() || pause >= time_left {
            return None;
        }
        Some(pause)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PLENTY: Duration = Duration::from_secs(30);

    #[test]
    fn pauses_double_and_stop_after_the_last_attempt() {
        let p = RetryPolicy::default();
        // random = 0: the fixed half of each ceiling.
        let pauses: Vec<_> = (1..10)
            .map(|r| p.backoff(r, Duration::ZERO, 0, PLENTY))
            .collect();
        let ms = |m| Some(Duration::from_millis(m));
        let expected = [
            ms(25),
            ms(50),
            ms(100),
            ms(200),
            ms(400),
            None,
            None,
            None,
            None,
        ];
        assert_eq!(pauses, expected);
        assert_eq!(p.backoff(0, Duration::ZERO, 0, PLENTY), None);
        assert_eq!(
            RetryPolicy::none().backoff(1, Duration::ZERO, 0, PLENTY),
            None
        );
    }

    #[test]
    fn the_budget_and_the_deadline_cut_the_pause_short() {
        let p = RetryPolicy::default();
        // 1.45 s spent of 1.5 s: at most 50 ms more.
        assert_eq!(
            p.backoff(5, Duration::from_millis(1450), u64::MAX, PLENTY),
            Some(Duration::from_millis(50))
        );
        assert_eq!(p.backoff(2, p.budget, 7, PLENTY), None);
        // Not enough time left in the invocation: back to the queue.
        assert_eq!(
            p.backoff(1, Duration::ZERO, 0, Duration::from_millis(10)),
            None
        );
    }

    proptest! {
        #[test]
        fn a_pause_stays_within_its_ceiling_the_budget_and_the_time_left(
            retry in 0u32..40,
            spent_ms in 0u64..3000,
            random: u64,
            left_ms in 0u64..5000,
            attempts in 1u32..40,
            base_ms in 0u64..2000,
            max_ms in 0u64..5000,
        ) {
            let p = RetryPolicy {
                attempts,
                base: Duration::from_millis(base_ms),
                max_delay: Duration::from_millis(max_ms),
                budget: Duration::from_millis(1500),
            };
            let spent = Duration::from_millis(spent_ms);
            let left = Duration::from_millis(left_ms);
            if let Some(pause) = p.backoff(retry, spent, random, left) {
                prop_assert!(retry >= 1 && retry < attempts);
                prop_assert!(pause <= p.max_delay);
                prop_assert!(spent + pause <= p.budget);
                prop_assert!(pause < left);
                prop_assert!(!pause.is_zero());
            }
        }
    }
}
