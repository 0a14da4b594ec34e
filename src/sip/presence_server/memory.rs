//! Giving memory back after many subscriptions end: hash maps keep their
//! capacity when emptied, so after 50,000 subscriptions are gone the tables
//! would still hold room for 50,000. `compact` shrinks any table that is
//! mostly empty; the driver then asks the allocator to return the freed
//! pages (see `server/memory.rs`). Measured in docs/DECISIONS.md.

use super::server::PresenceServer;
use crate::sip::endpoint::shrink_if_mostly_empty as shrink;

impl PresenceServer {
    /// Shrinks mostly-empty tables; true when any shrank (then it is
    /// worth returning memory to the operating system).
    pub fn compact(&mut self) -> bool {
        let mut shrunk = shrink(&mut self.subscriptions);
        shrunk |= shrink(&mut self.by_dialog);
        shrunk |= shrink(&mut self.by_exten);
        shrunk |= shrink(&mut self.by_address);
        shrunk |= shrink(&mut self.notifies);
        shrunk |= shrink(&mut self.confirmations.held);
        shrunk |= shrink(&mut self.confirmations.handed);
        shrunk | self.endpoint.compact()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn only_mostly_empty_large_tables_shrink() {
        let mut map: HashMap<u32, u32> = (0..10_000).map(|i| (i, i)).collect();
        assert!(!shrink(&mut map), "full");
        map.retain(|k, _| *k < 100);
        assert!(shrink(&mut map));
        assert!(map.capacity() < 1024);
        assert!(!shrink(&mut map), "small now");
    }
}
