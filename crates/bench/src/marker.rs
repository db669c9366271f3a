//! The text every benchmark message carries, and finding it again in a delivered frame.
//!
//! A message's text is `b<sender>.<n>.<sent_us>`: which sender, its number (0, 1, 2, … per
//! sender) and when it was sent, in microseconds since the run's clock started. All three
//! servers put the text back verbatim inside a `message` event, so a receiver needs no JSON
//! parser to account for a delivery: it looks for `"text":"b` and reads three numbers.

use memchr::memmem;

/// What a delivered message says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    /// Index of the sending connection.
    pub sender: u32,
    /// Per-sender message number, from 0.
    pub n: u64,
    /// Send time, microseconds on the run's clock.
    pub sent_us: u64,
}

impl Marker {
    /// The message text for this marker.
    #[must_use]
    pub fn text(&self) -> String {
        format!("b{}.{}.{}", self.sender, self.n, self.sent_us)
    }
}

const MESSAGE_EVENT: &[u8] = b"42[\"message\",";
const TEXT_KEY: &[u8] = b"\"text\":\"b";

/// The marker of a `message` event frame; `None` for any other frame.
#[must_use]
pub fn find(frame: &[u8]) -> Option<Marker> {
    if !frame.starts_with(MESSAGE_EVENT) {
        return None;
    }
    let start = memmem::find(frame, TEXT_KEY)? + TEXT_KEY.len();
    let mut rest = &frame[start..];
    let sender = take_number(&mut rest, b'.')?;
    let n = take_number(&mut rest, b'.')?;
    let sent_us = take_number(&mut rest, b'"')?;
    Some(Marker {
        sender: u32::try_from(sender).ok()?,
        n,
        sent_us,
    })
}

/// Reads decimal digits up to `end`, and moves `rest` past it.
fn take_number(rest: &mut &[u8], end: u8) -> Option<u64> {
    let mut value: u64 = 0;
    for (i, &b) in rest.iter().enumerate() {
        if b == end && i > 0 {
            *rest = &rest[i + 1..];
            return Some(value);
        }
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        value = value.checked_mul(10)?.checked_add(u64::from(digit))?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_marker_in_each_servers_frame() {
        let m = Marker {
            sender: 7,
            n: 1234,
            sent_us: 98_765,
        };
        let t = m.text();
        let charla = format!(
            r#"42["message",{{"id":"x-1","username":"bench-s7","text":"{t}","timestamp":"2026-11-26T10:00:00.000Z","seq":1,"clientId":"c"}}]"#
        );
        let node = format!(
            r#"42["message",{{"id":"a-1","username":"bench-s7","text":"{t}","timestamp":"2026-11-26T10:00:00.000Z"}}]"#
        );
        let raw = format!(r#"42["message",{{"username":"bench-s7","text":"{t}"}}]"#);
        for frame in [charla, node, raw] {
            assert_eq!(find(frame.as_bytes()), Some(m), "{frame}");
        }
    }

    #[test]
    fn other_frames_are_not_deliveries() {
        for frame in [
            r#"42["user-joined","b1.2.3"]"#,
            r#"430[{"ok":true,"history":[{"text":"b1.2.3"}]}]"#,
            r#"42["message",{"text":"hello"}]"#,
            r#"42["message",{"text":"b1.2"}]"#,
            r#"42["message",{"text":"b1.x.3"}]"#,
            "2",
        ] {
            assert_eq!(find(frame.as_bytes()), None, "{frame}");
        }
    }
}
