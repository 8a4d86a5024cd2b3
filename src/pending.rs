//! Requests a service has taken and not answered yet. A request is a message with a session
//! from a caller that waits for a PTYPE_RESPONSE or PTYPE_ERROR; when the service dies with
//! some still open, the core answers each with PTYPE_ERROR, so no caller waits forever.
//!
//! Most services answer at once, so the open set is nearly always empty or tiny: a short
//! list scanned from its newest end. A service that defers many answers (a queue, a proxy)
//! moves to a hashed set once the list grows past `SMALL`.
//!
//! A request is open once: a caller never waits twice on one session. What arrives again
//! under an open (caller, session) is not a second call but a session used for something
//! else: a gate's redirect to an agent carries the client's socket there, packet after
//! packet. Counted, each packet would stay open, and the agent's exit would answer the gate
//! once per packet it ever got.

use crate::message::{PTYPE_ERROR, PTYPE_HARBOR, PTYPE_RESPONSE, PTYPE_SOCKET, PTYPE_SYSTEM};
use std::collections::HashSet;
use std::sync::Mutex;

/// A caller's address and the session it waits on.
pub type Request = (u32, i32);

const SMALL: usize = 32;

enum Set {
    Few(Vec<Request>),
    Many(HashSet<Request>),
}

pub struct Pending {
    open: Mutex<Set>,
}

/// Whether a delivered message obliges its receiver to answer. Responses and errors are
/// answers themselves; system, harbor and socket messages are traffic the core and the
/// harbor carry, answered (if at all) by someone else.
pub fn is_request(ptype: i32, session: i32, source: u32) -> bool {
    session > 0
        && source != 0
        && !matches!(ptype, PTYPE_RESPONSE | PTYPE_ERROR | PTYPE_SYSTEM | PTYPE_HARBOR | PTYPE_SOCKET)
}

/// The request a message sent by `sender` may settle: an answer settles the destination's
/// request; a message passed on under another's address (skynet.redirect) hands that
/// caller's request to the new receiver, who owes the answer from then on.
pub fn settled_by(ptype: i32, session: i32, source: u32, destination: u32, sender: u32) -> Option<Request> {
    if session <= 0 {
        None
    } else if matches!(ptype, PTYPE_RESPONSE | PTYPE_ERROR) {
        Some((destination, session))
    } else if source != 0 && source != sender {
        Some((source, session))
    } else {
        None
    }
}

impl Default for Pending {
    fn default() -> Self {
        Pending { open: Mutex::new(Set::Few(Vec::new())) }
    }
}

impl Pending {
    fn set(&self) -> std::sync::MutexGuard<'_, Set> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn open(&self, req: Request) {
        let mut set = self.set();
        match &mut *set {
            Set::Few(list) if list.iter().rev().any(|r| *r == req) => {}
            Set::Few(list) if list.len() < SMALL => list.push(req),
            Set::Few(list) => {
                let mut many: HashSet<Request> = list.drain(..).collect();
                many.insert(req);
                *set = Set::Many(many);
            }
            Set::Many(many) => {
                many.insert(req);
            }
        }
    }

    /// Forgets the open request `req`; false when it was not open.
    pub fn close(&self, req: Request) -> bool {
        let mut set = self.set();
        match &mut *set {
            Set::Few(list) => match list.iter().rposition(|r| *r == req) {
                Some(i) => {
                    list.swap_remove(i);
                    true
                }
                None => false,
            },
            Set::Many(many) => many.remove(&req),
        }
    }

    /// Everything still open, once: the set is empty afterwards.
    pub fn take_all(&self) -> Vec<Request> {
        let mut set = self.set();
        match std::mem::replace(&mut *set, Set::Few(Vec::new())) {
            Set::Few(list) => list,
            Set::Many(many) => many.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{PTYPE_CLIENT, PTYPE_TEXT};

    #[test]
    fn requests_are_messages_that_wait_for_an_answer() {
        assert!(is_request(10, 3, 0x0100_0002));
        assert!(is_request(PTYPE_TEXT, 1, 9));
        assert!(!is_request(10, 0, 9), "no session: a plain send");
        assert!(!is_request(10, 3, 0), "no caller to answer");
        for t in [PTYPE_RESPONSE, PTYPE_ERROR, PTYPE_SYSTEM, PTYPE_HARBOR, PTYPE_SOCKET] {
            assert!(!is_request(t, 3, 9), "type {t}");
        }
    }

    #[test]
    fn answers_and_redirects_settle_a_request() {
        let (me, caller, other) = (5, 9, 11);
        assert_eq!(settled_by(PTYPE_RESPONSE, 3, 0, caller, me), Some((caller, 3)));
        assert_eq!(settled_by(PTYPE_ERROR, 3, me, caller, me), Some((caller, 3)));
        assert_eq!(settled_by(PTYPE_CLIENT, 3, caller, other, me), Some((caller, 3)), "redirected");
        assert_eq!(settled_by(PTYPE_CLIENT, 3, 0, other, me), None, "a request of its own");
        assert_eq!(settled_by(PTYPE_CLIENT, 3, me, other, me), None);
        assert_eq!(settled_by(PTYPE_RESPONSE, 0, 0, caller, me), None);
    }

    #[test]
    fn a_request_is_open_once_however_often_its_session_comes() {
        let p = Pending::default();
        p.open((1, 1));
        p.open((1, 1));
        p.open((2, 7));
        assert!(p.close((1, 1)));
        assert!(!p.close((1, 1)));
        assert_eq!(p.take_all(), vec![(2, 7)]);
        assert!(p.take_all().is_empty());
        // The same in the hashed set.
        for s in 1..=100 {
            p.open((3, s));
            p.open((3, s));
        }
        assert!(p.close((3, 50)));
        assert!(!p.close((3, 50)));
        assert_eq!(p.take_all().len(), 99);
    }

    #[test]
    fn a_large_set_keeps_every_request() {
        let p = Pending::default();
        for s in 1..=500 {
            p.open((4, s));
        }
        for s in (2..=500).step_by(2) {
            assert!(p.close((4, s)));
        }
        assert!(!p.close((4, 2)));
        let mut left = p.take_all();
        left.sort();
        let want: Vec<Request> = (1..=500).step_by(2).map(|s| (4, s)).collect();
        assert_eq!(left, want);
    }
}
