//! An intrusive doubly linked list over slot ids, stored in one array of links.

/// "No slot": the end of a list.
pub(crate) const NIL: u32 = u32::MAX;

/// Links of one slot: `[prev, next]`.
type Links = [u32; 2];

/// A set of doubly linked lists over the same slot space: a slot is on at most one list.
///
/// Each list is identified by a [`ListHead`]; the link array is shared, so moving a slot between
/// lists (window → probation → protected) costs a few stores and no allocation.
#[derive(Debug, Default)]
pub(crate) struct SlotLinks {
    links: Vec<Links>,
}

/// Head and tail of one list; the head is the most recently pushed slot.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ListHead {
    head: u32,
    tail: u32,
    len: u32,
}

impl Default for ListHead {
    fn default() -> Self {
        Self {
            head: NIL,
            tail: NIL,
            len: 0,
        }
    }
}

impl ListHead {
    /// The least recently pushed slot.
    pub(crate) fn tail(&self) -> Option<u32> {
        (self.tail != NIL).then_some(self.tail)
    }

    /// Number of slots on the list.
    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether the list is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl SlotLinks {
    /// Makes room for `slot`.
    #[inline]
    pub(crate) fn reserve(&mut self, slot: u32) {
        let i = slot as usize;
        if i >= self.links.len() {
            let new_len = (i + 1).max(self.links.len() * 2).max(16);
            self.links.resize(new_len, [NIL, NIL]);
        }
    }

    /// Pushes `slot` (not on any list) at the head of `list`.
    #[inline]
    pub(crate) fn push_front(&mut self, list: &mut ListHead, slot: u32) {
        self.reserve(slot);
        let old = list.head;
        self.links[slot as usize] = [NIL, old];
        if old == NIL {
            list.tail = slot;
        } else {
            self.links[old as usize][0] = slot;
        }
        list.head = slot;
        list.len += 1;
    }

    /// Unlinks `slot` from `list`, which must hold it.
    #[inline]
    pub(crate) fn unlink(&mut self, list: &mut ListHead, slot: u32) {
        let [prev, next] = self.links[slot as usize];
        if prev == NIL {
            list.head = next;
        } else {
            self.links[prev as usize][1] = next;
        }
        if next == NIL {
            list.tail = prev;
        } else {
            self.links[next as usize][0] = prev;
        }
        list.len -= 1;
    }

    /// Moves `slot`, on `list`, to the head of `list`.
    #[inline]
    pub(crate) fn move_to_front(&mut self, list: &mut ListHead, slot: u32) {
        if list.head != slot {
            self.unlink(list, slot);
            self.push_front(list, slot);
        }
    }

    /// Removes and returns the tail of `list`.
    #[inline]
    pub(crate) fn pop_back(&mut self, list: &mut ListHead) -> Option<u32> {
        let tail = list.tail()?;
        self.unlink(list, tail);
        Some(tail)
    }

    /// The neighbour of `slot` towards the head (pushed after it), or `None` at the head.
    #[inline]
    pub(crate) fn toward_head(&self, slot: u32) -> Option<u32> {
        let prev = self.links[slot as usize][0];
        (prev != NIL).then_some(prev)
    }

    /// Forgets every list.
    pub(crate) fn clear(&mut self) {
        self.links.clear();
    }
}
