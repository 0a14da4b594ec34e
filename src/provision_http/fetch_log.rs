//! `FetchLog`: when each phone last fetched its config, and with which
//! User-Agent; written by the provisioning router, read by the dashboard.

/// When each phone last fetched its config (Unix seconds) and the
/// User-Agent it sent then (which names its model and firmware version),
/// for the dashboard. A std mutex: one map insert per fetch, no `.await`
/// inside.
#[derive(Debug, Default)]
pub struct FetchLog(std::sync::Mutex<std::collections::HashMap<String, (u64, String)>>);

impl FetchLog {
    pub fn record(&self, phone: &str, at: u64, user_agent: &str) {
        // Bounded: a User-Agent longer than this is not a phone's.
        let agent: String = user_agent.chars().take(200).collect();
        self.0
            .lock()
            .expect("fetch log lock is never poisoned")
            .insert(phone.to_owned(), (at, agent));
    }

    pub fn last(&self, phone: &str) -> Option<u64> {
        self.0
            .lock()
            .expect("fetch log lock is never poisoned")
            .get(phone)
            .map(|(at, _)| *at)
    }

    /// The User-Agent of the phone's last config fetch.
    pub fn user_agent(&self, phone: &str) -> Option<String> {
        self.0
            .lock()
            .expect("fetch log lock is never poisoned")
            .get(phone)
            .map(|(_, agent)| agent.clone())
    }
}
