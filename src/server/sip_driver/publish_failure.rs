//! How a presence write that did not happen is answered to the PUBLISH
//! that asked for it. Used where the committer refuses a write at once
//! (`flush`) and where it reports one failed (`driver_task`).

use crate::server::presence_hub::HubError;
use crate::sip::PublishFailure;

/// What a PUBLISH answers when its write did not happen: internal error
/// text never goes on the wire.
pub(super) fn publish_failure(error: HubError) -> PublishFailure {
    match error {
        HubError::Name(error) => PublishFailure::Refused(error.into()),
        HubError::Update(error) => PublishFailure::Refused(error.into()),
        HubError::Book(error) => PublishFailure::Refused(error.into()),
        HubError::Store(_) | HubError::Overloaded => PublishFailure::Unavailable,
        // Device refusals answer device writes; a PUBLISH never makes one.
        HubError::Device(_) | HubError::DeviceName(_) => PublishFailure::Unavailable,
    }
}
