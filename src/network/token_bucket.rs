//! The network layer's one token bucket: what the Bitswap budgets, the pubsub admission
//! budget and the inbound connection rate are built on. Over any interval of length T a
//! bucket grants at most `burst + per_second × T`.

use std::time::Instant;

/// A rate: tokens regained per second, and the most saved up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

/// A bucket's level. It may go negative (a debt) when its owner charges a cost after the
/// fact; then it is below zero until the rate has paid the debt back.
#[derive(Debug, Clone, Copy)]
pub struct TokenBucket {
    /// Tokens left (negative: owed).
    pub tokens: f64,
    /// When `tokens` was last brought up to date.
    at: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn full(rate: &Rate, now: Instant) -> TokenBucket {
        TokenBucket {
            tokens: rate.burst,
            at: now,
        }
    }

    /// Brings the level up to `now`: `per_second` a second since the last time, never past
    /// the burst.
    pub fn refill(&mut self, rate: &Rate, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate.per_second).min(rate.burst);
        self.at = now;
    }

    /// Whether the bucket is full (after [`Self::refill`]): it then holds nothing worth
    /// keeping, since a new one starts full.
    pub fn is_full(&self, rate: &Rate) -> bool {
        self.tokens >= rate.burst
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_grants_its_burst_then_its_rate() {
        let rate = Rate {
            per_second: 100.0,
            burst: 300.0,
        };
        let start = Instant::now();
        let mut bucket = TokenBucket::full(&rate, start);
        assert_eq!(bucket.tokens, 300.0);
        bucket.tokens = 0.0;
        bucket.refill(&rate, start);
        assert_eq!(bucket.tokens, 0.0, "nothing regained without time");
        bucket.refill(&rate, start + Duration::from_millis(500));
        assert!((bucket.tokens - 50.0).abs() < 1e-6);
        bucket.refill(&rate, start + Duration::from_secs(60));
        assert!(bucket.is_full(&rate));
        assert_eq!(bucket.tokens, 300.0, "never more than the burst");
    }

    #[test]
    fn a_debt_is_paid_back_at_the_rate() {
        let rate = Rate {
            per_second: 10.0,
            burst: 100.0,
        };
        let start = Instant::now();
        let mut bucket = TokenBucket::full(&rate, start);
        bucket.tokens = -50.0;
        bucket.refill(&rate, start + Duration::from_secs(5));
        assert!(bucket.tokens.abs() < 1e-9);
        // Time going backwards (another thread's older `now`) adds nothing.
        bucket.refill(&rate, start);
        assert!(bucket.tokens.abs() < 1e-9);
    }
}
