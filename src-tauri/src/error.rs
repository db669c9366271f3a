//! The error every command returns: a kind the UI can branch on, and a message for people.

use serde::ser::SerializeStruct;
use serde::Serialize;

/// What a command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The username breaks the server's rules.
    #[error("{0}")]
    InvalidUsername(String),
    /// The server address cannot be used.
    #[error("{0}")]
    InvalidServer(String),
    /// No username has been chosen yet.
    #[error("choose a username first")]
    NotConfigured,
    /// The message is empty.
    #[error("the message is empty")]
    EmptyMessage,
    /// No unsent message has that id.
    #[error("that message is no longer waiting to be sent")]
    UnknownMessage,
    /// A local file could not be written.
    #[error("could not save: {0}")]
    Storage(String),
    /// The connection task is not running.
    #[error("not connected to a chat")]
    NoSession,
}

impl AppError {
    fn kind(&self) -> &'static str {
        match self {
            Self::InvalidUsername(_) => "invalidUsername",
            Self::InvalidServer(_) => "invalidServer",
            Self::NotConfigured => "notConfigured",
            Self::EmptyMessage => "emptyMessage",
            Self::UnknownMessage => "unknownMessage",
            Self::Storage(_) => "storage",
            Self::NoSession => "noSession",
        }
    }
}

impl From<charla_client::Error> for AppError {
    fn from(error: charla_client::Error) -> Self {
        use charla_client::Error as E;
        match error {
            E::BadUrl { reason, .. } => Self::InvalidServer(reason),
            E::EmptyMessage => Self::EmptyMessage,
            E::UnknownMessage(_) => Self::UnknownMessage,
            E::Stopped => Self::NoSession,
            other @ (E::File { .. } | E::NoHome) => Self::Storage(other.to_string()),
        }
    }
}

/// `{"kind": "invalidUsername", "message": "…"}`.
impl Serialize for AppError {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("AppError", 2)?;
        s.serialize_field("kind", self.kind())?;
        s.serialize_field("message", &self.to_string())?;
        s.end()
    }
}

/// Shorthand for command results.
pub type Result<T> = std::result::Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_with_a_kind_and_a_message() {
        let json = serde_json::to_value(AppError::InvalidUsername("the username is empty".into()))
            .expect("json");
        assert_eq!(
            json,
            serde_json::json!({"kind": "invalidUsername", "message": "the username is empty"})
        );
    }
}
