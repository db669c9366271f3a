//! The error every command returns: a kind the UI can branch on, and a message for people.

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
    /// A reaction that is not one emoji.
    #[error("a reaction is one emoji")]
    InvalidEmoji,
    /// A local file could not be written.
    #[error("could not save: {0}")]
    Storage(String),
    /// The connection task is not running.
    #[error("not connected to a chat")]
    NoSession,
    /// The link code cannot be one (it is 16 letters and digits, in groups of four).
    #[error("that is not a link code: it is 16 letters and digits, like 7K2M-QD9R-X4TB-E1HW")]
    InvalidLinkCode,
    /// The request needs the server, and the chat is not connected now.
    #[error("not connected to the chat; try again when it is back")]
    Offline,
    /// The server refused the request.
    #[error("{0}")]
    Refused(String),
}

/// What kind of failure, for the UI to branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum AppErrorKind {
    /// [`AppError::InvalidUsername`].
    InvalidUsername,
    /// [`AppError::InvalidServer`].
    InvalidServer,
    /// [`AppError::NotConfigured`].
    NotConfigured,
    /// [`AppError::EmptyMessage`].
    EmptyMessage,
    /// [`AppError::UnknownMessage`].
    UnknownMessage,
    /// [`AppError::InvalidEmoji`].
    InvalidEmoji,
    /// [`AppError::Storage`].
    Storage,
    /// [`AppError::NoSession`].
    NoSession,
    /// [`AppError::InvalidLinkCode`].
    InvalidLinkCode,
    /// [`AppError::Offline`].
    Offline,
    /// [`AppError::Refused`].
    Refused,
}

/// A command's error as the UI receives it.
#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[cfg_attr(test, ts(rename = "AppErrorBody"))]
pub(crate) struct Body {
    kind: AppErrorKind,
    message: String,
}

impl AppError {
    /// The kind, for the UI.
    #[must_use]
    pub fn kind(&self) -> AppErrorKind {
        match self {
            Self::InvalidUsername(_) => AppErrorKind::InvalidUsername,
            Self::InvalidServer(_) => AppErrorKind::InvalidServer,
            Self::NotConfigured => AppErrorKind::NotConfigured,
            Self::EmptyMessage => AppErrorKind::EmptyMessage,
            Self::UnknownMessage => AppErrorKind::UnknownMessage,
            Self::InvalidEmoji => AppErrorKind::InvalidEmoji,
            Self::Storage(_) => AppErrorKind::Storage,
            Self::NoSession => AppErrorKind::NoSession,
            Self::InvalidLinkCode => AppErrorKind::InvalidLinkCode,
            Self::Offline => AppErrorKind::Offline,
            Self::Refused(_) => AppErrorKind::Refused,
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
            E::InvalidEmoji => Self::InvalidEmoji,
            E::Stopped => Self::NoSession,
            E::Offline => Self::Offline,
            E::Refused(refusal) => Self::Refused(refusal.message),
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
        Body {
            kind: self.kind(),
            message: self.to_string(),
        }
        .serialize(serializer)
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
