//! `UnreachedPhones`: where check-syncs go for phones this server never
//! heard from (with `[asterisk]`: Asterisk's AMI, which knows the phones'
//! registrations). A trait object, so the SIP driver depends on no other
//! driver.

use std::future::Future;
use std::pin::Pin;

use super::reconfigure_report::{ReconfigureOutcome, ReconfigureReport};

/// A boxed future borrowing the reports it completes.
pub type CheckSyncFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Sends the check-syncs the SIP side could not, and records each outcome
/// in its report (those marked `UnknownContact`).
pub trait UnreachedPhones: Send + Sync {
    fn check_sync<'a>(&'a self, reports: &'a mut [ReconfigureReport]) -> CheckSyncFuture<'a>;
}

/// The driver's reports, completed through `unreached` when there is one.
pub(super) async fn complete(
    mut reports: Vec<ReconfigureReport>,
    unreached: Option<&dyn UnreachedPhones>,
) -> Vec<ReconfigureReport> {
    let unknown = |report: &ReconfigureReport| report.outcome == ReconfigureOutcome::UnknownContact;
    if let Some(unreached) = unreached
        && reports.iter().any(unknown)
    {
        unreached.check_sync(&mut reports).await;
    }
    reports
}
