//! A FIFO buffer with a weight cap: the store keeps one per signal.

use std::collections::VecDeque;

use crate::origin::Protocol;
use crate::stats::SignalStats;

/// Holds the newest items of one signal whose total weight fits `capacity`, each with the
/// number of the export request that brought it (increasing: requests are numbered in the
/// order the store takes them).
///
/// Weight is 1 per span or log record and the number of data points per metric, so one
/// cap means the same thing ("this many things a person could look at") for every signal.
pub(crate) struct SignalBuffer<T> {
    items: VecDeque<(u64, T)>,
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

    /// Appends `items`, which request number `seq` brought, then evicts from the front
    /// until the cap holds again.
    pub(crate) fn push(&mut self, protocol: Protocol, seq: u64, items: &[T]) {
        for item in items {
            let weight = (self.weigh)(item);
            self.weight += weight;
            self.stats.received.add(protocol, weight as u64);
            self.items.push_back((seq, item.clone()));
        }
        while self.weight > self.capacity {
            let Some((_, oldest)) = self.items.pop_front() else {
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
        self.items.iter().map(|(_, item)| item)
    }

    /// The items that requests after number `after` brought, grouped by request, oldest
    /// first.
    pub(crate) fn batches_after(&self, after: u64) -> Vec<(u64, Vec<T>)> {
        let start = self.items.partition_point(|(seq, _)| *seq <= after);
        let mut out: Vec<(u64, Vec<T>)> = Vec::new();
        for (seq, item) in self.items.range(start..) {
            match out.last_mut() {
                Some((last, items)) if last == seq => items.push(item.clone()),
                _ => out.push((*seq, vec![item.clone()])),
            }
        }
        out
    }

    pub(crate) fn stats(&self) -> SignalStats {
        SignalStats {
            stored: self.weight as u64,
            ..self.stats
        }
    }
}
