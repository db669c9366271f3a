//! Username and text rules: the shared ones from `charla-protocol`, enforced here.

pub use charla_protocol::rules::{
    check_text, normalize_username, username_key, Rejection, MAX_USERNAME_CHARS,
};
