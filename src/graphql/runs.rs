//! Manual runs (`runControl`) in flight: at most [`MAX_RUNS_IN_FLIGHT`] in the
//! process and [`MAX_RUNS_PER_CALLER`] per caller. Each run calls the Tool, so
//! a run past either bound is refused at once with an error naming it, rather
//! than queued: a caller that wants more waits for its own runs to finish.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Manual runs in flight in one daemon.
pub const MAX_RUNS_IN_FLIGHT: usize = 8;
/// Manual runs in flight for one caller (a client address over HTTP).
pub const MAX_RUNS_PER_CALLER: usize = 2;

/// Who asks for a run, put into a request's data by the HTTP endpoint; requests
/// without one count as one local caller.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Caller(pub String);

/// Runs in flight, in all and per caller. Only callers with a run in flight
/// have an entry, so the map holds at most [`MAX_RUNS_IN_FLIGHT`].
#[derive(Debug, Default)]
pub struct RunSlots {
    in_flight: Mutex<(usize, HashMap<Caller, usize>)>,
}

/// One run's place; given back when dropped.
#[derive(Debug)]
pub struct RunSlot {
    slots: Arc<RunSlots>,
    caller: Caller,
}

impl RunSlots {
    /// A place for one run of `caller`'s, or why not.
    pub fn take(self: &Arc<Self>, caller: &Caller) -> Result<RunSlot, String> {
        let mut guard = self.in_flight.lock().unwrap();
        let (total, callers) = &mut *guard;
        if *total >= MAX_RUNS_IN_FLIGHT {
            return Err(format!(
                "runControl: this daemon already runs {MAX_RUNS_IN_FLIGHT} controls on request \
                 (the limit); retry when they have finished"
            ));
        }
        let mine = callers.entry(caller.clone()).or_default();
        if *mine >= MAX_RUNS_PER_CALLER {
            return Err(format!(
                "runControl: you already have {MAX_RUNS_PER_CALLER} runs in flight (the limit \
                 per caller); wait for them to finish"
            ));
        }
        *mine += 1;
        *total += 1;
        Ok(RunSlot {
            slots: self.clone(),
            caller: caller.clone(),
        })
    }

    #[cfg(test)]
    fn callers(&self) -> usize {
        self.in_flight.lock().unwrap().1.len()
    }
}

impl Drop for RunSlot {
    fn drop(&mut self) {
        let mut guard = self.slots.in_flight.lock().unwrap();
        let (total, callers) = &mut *guard;
        *total -= 1;
        if let Some(mine) = callers.get_mut(&self.caller) {
            *mine -= 1;
            if *mine == 0 {
                callers.remove(&self.caller);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_bounded_per_caller_and_in_all() {
        let slots = Arc::new(RunSlots::default());
        let alice = Caller("alice".into());
        let first = slots.take(&alice).unwrap();
        let _second = slots.take(&alice).unwrap();
        let refused = slots.take(&alice).unwrap_err();
        assert!(refused.contains("2 runs in flight"), "{refused}");
        drop(first);
        let _third = slots.take(&alice).unwrap();

        let others: Vec<_> = (0..MAX_RUNS_IN_FLIGHT - 2)
            .map(|n| slots.take(&Caller(format!("c{}", n / 2))).unwrap())
            .collect();
        let refused = slots.take(&Caller("bob".into())).unwrap_err();
        assert!(refused.contains("already runs 8 controls"), "{refused}");
        drop(others);
        assert_eq!(slots.callers(), 1, "callers without runs are forgotten");
        assert!(slots.take(&Caller("bob".into())).is_ok());
    }
}
