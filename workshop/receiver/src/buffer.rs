//! A FIFO buffer with a weight cap: the store keeps one per signal.

use std::collections::VecDeque;

use crate::origin::Protocol;
use crate::stats::SignalStats;

/// Holds the newest items of one signal whose total weight fits `capacity`.
///
/// Weight is 1 per span or log record and the number of data points per metric, so one
/// cap means the same thing ("this many things a person could look at") for every signal.
pub(crate) struct SignalBuffer<T> {
    items: VecDeque<T>,
    weigh: fn(&T) -> usize,
    capacity: usize,
    weight: usize,
    stats: SignalStats,
}

impl<T: Clone> SignalBuffer<T> {
    pub(crate) fn new(capacity: usize, weigh: fn(&T) -> usize) -> Self {
        SignalBuffer {
            items: VecDeque::new(),
            weigh,
            capacity,
            weight: 0,
            stats: SignalStats::default(),
        }
    }

    /// Appends `items`, then evicts from the front until the cap holds again.
    pub(crate) fn push(&mut self, protocol: Protocol, items: &[T]) {
        for item in items {
            let weight = (self.weigh)(item);
            self.weight += weight;
            self.stats.received.add(protocol, weight as u64);
            self.items.push_back(item.clone());
        }
        while self.weight > self.capacity {
            let Some(oldest) = self.items.pop_front() else {
                break;
            };
            let weight = (self.weigh)(&oldest);
            self.weight -= weight;
            self.stats.dropped += weight as u64;
        }
    }

    /// Empties the buffer on purpose: unlike eviction, this is not counted as dropped.
    pub(crate) fn clear(&mut self) {
        self.items.clear();
        self.weight = 0;
    }

    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = &T> {
        self.items.iter()
    }

    pub(crate) fn stats(&self) -> SignalStats {
        SignalStats {
            stored: self.weight as u64,
            ..self.stats
        }
    }
}
