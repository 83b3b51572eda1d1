//! Strictly increasing timestamps: two messages typed in the same millisecond (or
//! after the system clock stepped back) still get distinct, ordered times.

/// Hands out epoch-ms times that never repeat or go backwards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MonotonicClock {
    last: i64,
}

impl MonotonicClock {
    /// A clock that will only hand out times after `last`.
    pub fn after(last: i64) -> Self {
        Self { last }
    }

    /// The next time: `now`, or one past the previous time if `now` is not later.
    pub fn next(&mut self, now: i64) -> i64 {
        self.last = now.max(self.last + 1);
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_millisecond_and_backwards_steps_still_increase() {
        let mut clock = MonotonicClock::default();
        assert_eq!(clock.next(100), 100);
        assert_eq!(clock.next(100), 101);
        assert_eq!(clock.next(50), 102);
        assert_eq!(clock.next(200), 200);
        let mut resumed = MonotonicClock::after(500);
        assert_eq!(resumed.next(400), 501);
    }
}
