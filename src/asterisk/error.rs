//! `AmiError`: why an AMI connection was given up; framing and the
//! session both end a connection with one.

/// Why an AMI connection was given up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmiError {
    #[error("not an Asterisk manager interface (greeting {0:?})")]
    NotAmi(String),
    #[error("Asterisk refused the login: {0}")]
    LoginRefused(String),
    #[error("Asterisk is still starting (PRESENCE_STATE() not loaded yet)")]
    NotReady,
    #[error("Asterisk refused to list states: {0}")]
    ListRefused(String),
    #[error("AMI packet too large ({0} bytes buffered)")]
    PacketTooLarge(usize),
}

/// Asterisk answered an action with `Response: Error`; the text is
/// Asterisk's own `Message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ActionRefused(pub String);
