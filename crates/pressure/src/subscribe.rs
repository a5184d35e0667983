//! Subscribers to level changes, forgotten as soon as their receiver is dropped.

use std::ops::Deref;
use std::sync::{Arc, Weak};

use crossbeam_channel::{Receiver, Sender};

use crate::LevelChange;

/// How many changes a subscriber may fall behind before it misses newer ones.
const BACKLOG: usize = 64;

/// A subscription to level changes: a channel [`Receiver`] (it derefs to one) that unsubscribes
/// when dropped.
///
/// # Examples
///
/// ```
/// use pressure::Subscribers;
/// let mut subscribers = Subscribers::default();
/// let changes = subscribers.subscribe();
/// assert!(changes.try_recv().is_err());
/// drop(changes);
/// assert_eq!(subscribers.len(), 0);
/// ```
#[derive(Debug)]
pub struct LevelChanges {
    rx: Receiver<LevelChange>,
    _alive: Arc<()>,
}

impl Deref for LevelChanges {
    type Target = Receiver<LevelChange>;

    fn deref(&self) -> &Receiver<LevelChange> {
        &self.rx
    }
}

/// The senders of every live [`LevelChanges`].
///
/// Each subscription has a liveness token: a dropped subscription is pruned on the next
/// [`subscribe`](Self::subscribe), [`send`](Self::send) or [`len`](Self::len), so subscribing
/// and dropping in a loop does not grow the list.
#[derive(Debug, Default)]
pub struct Subscribers {
    list: Vec<(Sender<LevelChange>, Weak<()>)>,
}

impl Subscribers {
    /// A new subscription; a subscriber more than 64 changes behind misses the newer ones.
    pub fn subscribe(&mut self) -> LevelChanges {
        self.prune();
        let (tx, rx) = crossbeam_channel::bounded(BACKLOG);
        let alive = Arc::new(());
        self.list.push((tx, Arc::downgrade(&alive)));
        LevelChanges { rx, _alive: alive }
    }

    /// Sends `change` to every live subscriber, without blocking.
    pub fn send(&mut self, change: LevelChange) {
        self.prune();
        for (tx, _) in &self.list {
            let _ = tx.try_send(change);
        }
    }

    /// Live subscriptions.
    pub fn len(&mut self) -> usize {
        self.prune();
        self.list.len()
    }

    /// Whether no subscription is live.
    pub fn is_empty(&mut self) -> bool {
        self.len() == 0
    }

    fn prune(&mut self) {
        self.list.retain(|(_, alive)| alive.strong_count() > 0);
    }
}
