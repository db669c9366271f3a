//! Owned names: the device key a client proves a name with, and the short-lived link code that
//! lets a second device of the same person register its own key.
//!
//! A device key is 256 random bits, written as 64 lowercase hex digits; the client makes it and
//! keeps it, the server stores only its SHA-256. A link code is 80 random bits in Crockford's
//! base32, shown as four groups of four (`7K2M-QD9R-X4TB-E1HW`): easy to read out and type, and
//! read back forgivingly (any case, any separators, `O` for `0`, `I`/`L` for `1`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Hex digits of a device key.
pub const DEVICE_KEY_HEX_DIGITS: usize = 64;
/// Characters of a link code, separators aside.
pub const LINK_CODE_CHARS: usize = 16;
/// Crockford's base32 alphabet (no I, L, O, U).
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Whether `key` is a device key: exactly 64 lowercase hex digits.
#[must_use]
pub fn device_key_is_valid(key: &str) -> bool {
    key.len() == DEVICE_KEY_HEX_DIGITS
        && key
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Writes 10 random bytes as a link code in four groups of four.
#[must_use]
pub fn format_link_code(bytes: [u8; 10]) -> String {
    let mut bits: u128 = 0;
    for b in bytes {
        bits = (bits << 8) | u128::from(b);
    }
    let mut out = String::with_capacity(LINK_CODE_CHARS + 3);
    for i in 0..LINK_CODE_CHARS {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        let shift = 5 * (LINK_CODE_CHARS - 1 - i);
        let digit = usize::try_from((bits >> shift) & 0x1f).unwrap_or_default();
        out.push(char::from(ALPHABET[digit]));
    }
    out
}

/// The canonical form of a link code as someone typed it (upper case, no separators, look-alike
/// letters read as the digits they stand for), or `None` when it cannot be one.
#[must_use]
pub fn normalize_link_code(typed: &str) -> Option<String> {
    let mut out = String::with_capacity(LINK_CODE_CHARS);
    for c in typed.chars() {
        let c = match c.to_ascii_uppercase() {
            ' ' | '-' | '_' | '\t' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) {
            return None;
        }
        out.push(c);
    }
    (out.len() == LINK_CODE_CHARS).then_some(out)
}

/// The answer to `device-link`: a code the user types on the other device, and until when it
/// works (once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct DeviceLink {
    /// Always `true`.
    pub ok: bool,
    /// The code, in four groups of four.
    pub code: String,
    /// When the code stops working.
    #[serde(with = "crate::timestamp")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub expires_at: DateTime<Utc>,
}

/// The answer to `device-forget`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceForgotten {
    /// Always `true`.
    pub ok: bool,
    /// Whether the name is free now (this was its last device).
    pub released: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_64_lowercase_hex_digits() {
        assert!(device_key_is_valid(&"0f".repeat(32)));
        assert!(!device_key_is_valid(&"0F".repeat(32)));
        assert!(!device_key_is_valid(&"0f".repeat(31)));
        assert!(!device_key_is_valid(&format!("{}g", "0".repeat(63))));
        assert!(!device_key_is_valid(""));
    }

    #[test]
    fn link_codes_read_back_however_they_are_typed() {
        let code = format_link_code([0xff, 0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0]);
        assert_eq!(code.len(), LINK_CODE_CHARS + 3);
        assert_eq!(code.matches('-').count(), 3);
        let canonical = code.replace('-', "");
        assert_eq!(normalize_link_code(&code).as_deref(), Some(&*canonical));
        let sloppy = format!(" {} ", code.to_lowercase().replace('-', " "));
        assert_eq!(normalize_link_code(&sloppy).as_deref(), Some(&*canonical));
        assert_eq!(
            normalize_link_code("oooo-iiii-llll-0000").as_deref(),
            Some("0000111111110000")
        );
        assert_eq!(normalize_link_code("UUUU-0000-0000-0000"), None, "no U");
        assert_eq!(normalize_link_code("0000-0000-0000"), None, "too short");
        assert_eq!(normalize_link_code("0000-0000-0000-000é"), None);
        assert_eq!(
            format_link_code([0; 10]),
            "0000-0000-0000-0000",
            "leading zero bits are kept"
        );
    }
}
