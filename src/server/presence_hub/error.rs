//! `HubError`: why a presence or device write was refused or failed.

use std::sync::Arc;

use crate::presence::{BookError, InvalidName, InvalidUpdate, UnknownDeviceState};
use crate::store::StoreError;

/// Why a presence or device write was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error(transparent)]
    Name(#[from] InvalidName),
    #[error(transparent)]
    Update(#[from] InvalidUpdate),
    #[error(transparent)]
    Device(#[from] UnknownDeviceState),
    #[error(transparent)]
    Book(#[from] BookError),
    #[error("{0:?} is not an Asterisk device name (TECH/resource)")]
    DeviceName(String),
    #[error("could not store the change, nothing was changed: {0}")]
    Store(Arc<StoreError>),
    /// The store is behind (its queue is full): try again shortly.
    #[error("the server is busy storing other changes; nothing was changed, try again in a few seconds")]
    Overloaded,
}

impl From<StoreError> for HubError {
    fn from(error: StoreError) -> Self {
        Self::Store(Arc::new(error))
    }
}
