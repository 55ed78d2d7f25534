//! One pass's due rows, paged from the ledger and dealt out to the relays by weight (smooth
//! weighted round robin). Each relay has a lane of rows dealt to it and not yet taken; a lane
//! holds at most [`LAG`] of them, so a relay slower than its share (its pace, its server) does
//! not hold the issue back: the others are dealt the rows it has no room for. A relay that stops
//! (unusable, or its daily quota spent) closes its lane, and the rows in it go back to the
//! others.

use std::collections::VecDeque;

use anyhow::Result;

use crate::store::{Delivery, Store};

/// Rows read from the ledger at a time.
const PAGE: usize = 256;

/// Rows dealt to a relay and not yet taken by it, at most.
const LAG: usize = 32;

/// The due rows of one pass, read a page at a time, and the relays' lanes.
pub struct Share {
    issue_id: i64,
    due_by: chrono::DateTime<chrono::Utc>,
    after: i64,
    page: VecDeque<Delivery>,
    done: bool,
    /// Rows handed back by a relay that stopped: dealt before new pages.
    returned: VecDeque<Delivery>,
    lanes: Vec<Lane>,
}

struct Lane {
    rows: VecDeque<Delivery>,
    weight: f64,
    /// Smooth weighted round robin's running score.
    current: f64,
    open: bool,
}

impl Share {
    /// A pass over the rows of `issue_id` due by `due_by`, shared among relays of these weights.
    pub fn new(issue_id: i64, due_by: chrono::DateTime<chrono::Utc>, weights: &[f64]) -> Share {
        Share {
            issue_id,
            due_by,
            after: 0,
            page: VecDeque::new(),
            done: false,
            returned: VecDeque::new(),
            lanes: weights
                .iter()
                .map(|&weight| Lane {
                    rows: VecDeque::new(),
                    weight,
                    current: 0.0,
                    open: true,
                })
                .collect(),
        }
    }

    /// The next row for relay `lane`: one already dealt to it, else rows are dealt (by weight,
    /// to lanes with room) until it gets one. None when no row is left or its lane is closed.
    pub fn next(&mut self, store: &Store, lane: usize) -> Result<Option<Delivery>> {
        loop {
            if !self.lanes[lane].open {
                return Ok(None);
            }
            if let Some(d) = self.lanes[lane].rows.pop_front() {
                return Ok(Some(d));
            }
            let Some(d) = self.take(store)? else {
                return Ok(None);
            };
            let to = self.pick(lane);
            self.lanes[to].rows.push_back(d);
        }
    }

    /// Relay `lane` stops: its rows (and `unclaimed`, a row it could not take) go to the others.
    pub fn close(&mut self, lane: usize, unclaimed: Option<Delivery>) {
        let l = &mut self.lanes[lane];
        l.open = false;
        let rows = std::mem::take(&mut l.rows);
        for d in unclaimed.into_iter().chain(rows) {
            self.returned.push_back(d);
        }
    }

    fn take(&mut self, store: &Store) -> Result<Option<Delivery>> {
        if let Some(d) = self.returned.pop_front() {
            return Ok(Some(d));
        }
        if self.page.is_empty() && !self.done {
            let page = store.due_deliveries(self.issue_id, self.after, self.due_by, PAGE)?;
            self.done = page.is_empty();
            self.after = page.last().map_or(self.after, |d| d.id);
            self.page = page.into();
        }
        Ok(self.page.pop_front())
    }

    /// The lane the next row goes to: smooth weighted round robin among the open lanes with
    /// room; `asking` (whose lane is empty) always has room.
    fn pick(&mut self, asking: usize) -> usize {
        let eligible = |i: usize, l: &Lane| l.open && (i == asking || l.rows.len() < LAG);
        let total: f64 = self
            .lanes
            .iter()
            .enumerate()
            .filter(|(i, l)| eligible(*i, l))
            .map(|(_, l)| l.weight)
            .sum();
        let mut best = asking;
        let mut best_score = f64::MIN;
        for (i, l) in self.lanes.iter_mut().enumerate() {
            if !eligible(i, l) {
                continue;
            }
            l.current += l.weight;
            if l.current > best_score {
                best_score = l.current;
                best = i;
            }
        }
        self.lanes[best].current -= total;
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64) -> Delivery {
        Delivery {
            id,
            issue_id: 1,
            subscriber_id: None,
            email: format!("r{id}@example.net"),
            name: None,
            status: crate::model::DeliveryStatus::Queued,
            message_id: format!("<{id}@x>"),
            attempts: 0,
            reply: None,
            variant: None,
            relay: None,
        }
    }

    fn share_of(weights: &[f64], n: i64) -> Share {
        let mut s = Share::new(1, chrono::Utc::now(), weights);
        s.page = (1..=n).map(row).collect();
        s.done = true;
        s
    }

    /// Relays that keep up get rows in proportion to their weights; one that takes rows
    /// faster than its share does not wait for the other (it is dealt what the other has no
    /// room for).
    #[test]
    fn rows_are_dealt_by_weight() {
        let store = Store::open_in_memory().unwrap();
        // Each round lane 0 asks three times and lane 1 once: both keep up with a 3:1 share.
        let deal = |weights: &[f64], asks: [usize; 2]| {
            let mut s = share_of(weights, 400);
            let mut got = [0, 0];
            while got[0] + got[1] < 400 {
                for lane in 0..2 {
                    for _ in 0..asks[lane] {
                        if s.next(&store, lane).unwrap().is_some() {
                            got[lane] += 1;
                        }
                    }
                }
            }
            got
        };
        let got = deal(&[3.0, 1.0], [3, 1]);
        assert!((290..=310).contains(&got[0]), "{got:?}");
        // Equal weights, lane 0 three times as fast: lane 1 holds at most LAG rows it has not
        // taken yet, the rest go to lane 0.
        let got = deal(&[1.0, 1.0], [3, 1]);
        assert!(got[0] >= 300 - LAG, "{got:?}");
    }

    /// A relay that stops hands its rows to the others; one that does not keep up holds at
    /// most LAG of them.
    #[test]
    fn a_closed_lane_hands_its_rows_back_and_a_slow_one_holds_few() {
        let store = Store::open_in_memory().unwrap();
        let mut s = share_of(&[1.0, 1.0], 200);
        // Lane 1 never asks: lane 0 gets everything but what lane 1 was dealt (at most LAG).
        let mut got = 0;
        while s.next(&store, 0).unwrap().is_some() {
            got += 1;
        }
        assert!(s.lanes[1].rows.len() <= LAG);
        assert_eq!(got + s.lanes[1].rows.len(), 200);
        let held = s.lanes[1].rows.len();
        s.close(1, Some(row(999)));
        let mut again = 0;
        while s.next(&store, 0).unwrap().is_some() {
            again += 1;
        }
        assert_eq!(again, held + 1);
        assert!(
            s.next(&store, 1).unwrap().is_none(),
            "a closed lane gets nothing"
        );
    }
}
