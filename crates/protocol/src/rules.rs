//! The rules for usernames and message texts, shared by the server (which enforces them) and
//! the apps (which check them before asking the server).

use caseless::Caseless;
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory};
use unicode_script::{Script, UnicodeScript};
use unicode_security::MixedScript;

use crate::chat::{ErrorCode, Refusal, MAX_TOPIC_CHARS};

/// Longest username, in characters.
pub const MAX_USERNAME_CHARS: usize = 32;

/// Longest request looked at before normalizing: generous for a 32-character name sent
/// decomposed (a Vietnamese letter is up to three code points), and it keeps a huge request from
/// being normalized only to be refused.
const MAX_REQUESTED_CHARS: usize = MAX_USERNAME_CHARS * 8;

/// A username rule broken.
fn invalid_username(message: impl Into<String>) -> Refusal {
    Refusal::new(ErrorCode::InvalidUsername, message)
}

/// Turns a requested username into the name shown to everyone, or says why it is refused.
///
/// The name is the NFKC form of the trimmed request, so compatibility forms become their plain
/// letters (fullwidth `ａｌｉｃｅ` is `alice`, and then collides with an `alice` already there).
/// It is refused unless:
/// - it is 1–32 characters long once normalized;
/// - it has no control, format, private-use or unassigned character, and none that is invisible
///   or blank (`Default_Ignorable_Code_Point`: zero-width spaces and joiners, soft hyphen, Hangul
///   fillers, variation selectors, tags…; and the Braille blank);
/// - it has no bidirectional control (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069);
/// - its only white space is single ASCII spaces between words (no tab, no line or paragraph
///   separator, no leading, trailing or repeated space), and no word starts with a combining mark;
/// - it has at least one letter or digit;
/// - it is single-script in the sense of UTS #39 (Common and Inherited characters such as digits,
///   `-`, `_` and `.` go with any script; Han goes with Hiragana, Katakana and Hangul), so a
///   Cyrillic `а` in a Latin `аlice` is refused while `Иван`, `李雷` or `José` are fine.
///
/// Messages name a refused character by its code point (`U+202E`), never by the character
/// itself, so they are safe to show and to log.
///
/// # Errors
/// `invalid_username` with the reason.
pub fn normalize_username(requested: &str) -> Result<String, Refusal> {
    let trimmed = requested.trim();
    if trimmed.is_empty() {
        return Err(invalid_username("the username is empty"));
    }
    if trimmed.chars().nth(MAX_REQUESTED_CHARS).is_some() {
        return Err(too_long());
    }
    let name: String = trimmed.nfkc().collect();
    let chars = name.chars().count();
    if chars == 0 {
        return Err(invalid_username("the username is empty"));
    }
    if chars > MAX_USERNAME_CHARS {
        return Err(too_long());
    }
    if let Some(problem) = name.chars().find_map(|c| character_problem(c, "username")) {
        return Err(invalid_username(problem));
    }
    check_spacing(&name)?;
    if !name.chars().any(char::is_alphanumeric) {
        return Err(invalid_username(
            "the username needs at least one letter or digit",
        ));
    }
    if !name.as_str().is_single_script() {
        return Err(invalid_username(mixed_script_message(&name)));
    }
    Ok(name)
}

/// The key under which names are unique: compatibility caseless (Unicode §3.13, D146), so `ÁLice`
/// and `álice`, `Straße` and `STRASSE`, `ǅ` and `dž`, or `ｂｏｂ` and `Bob` are one name.
#[must_use]
pub fn username_key(name: &str) -> String {
    name.nfd()
        .default_case_fold()
        .nfkd()
        .default_case_fold()
        .nfkc()
        .collect()
}

fn too_long() -> Refusal {
    invalid_username(format!(
        "the username is longer than {MAX_USERNAME_CHARS} characters"
    ))
}

/// Why one character of a normalized name (or topic: `what`) is refused, if it is.
fn character_problem(c: char, what: &str) -> Option<String> {
    let code = format!("U+{:04X}", u32::from(c));
    let problem = if c.is_control() {
        format!("the {what} contains control characters ({code})")
    } else if is_bidi_control(c) {
        format!("the {what} contains a text-direction control ({code})")
    } else if is_invisible(c) {
        format!("the {what} contains an invisible character ({code})")
    } else {
        match c.general_category() {
            GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator => {
                format!("the {what} contains a line or paragraph separator ({code})")
            }
            GeneralCategory::Format => {
                format!("the {what} contains a formatting character ({code})")
            }
            GeneralCategory::PrivateUse | GeneralCategory::Surrogate => {
                format!("the {what} contains a private-use character ({code})")
            }
            GeneralCategory::Unassigned => {
                format!("the {what} contains an unassigned character ({code})")
            }
            _ if c.is_whitespace() && c != ' ' => {
                format!("the {what} contains white space other than a plain space ({code})")
            }
            _ => return None,
        }
    };
    Some(problem)
}

/// Combining marks one character may carry in a topic: enough for any script's stacked
/// vowels and tones (Vietnamese needs two, Thai and Tibetan three), not for a tower of marks
/// that spills over the lines around it.
pub const MAX_MARKS_PER_CHARACTER: usize = 4;

/// A room's topic as it is kept: trimmed, composed (NFC), at most [`MAX_TOPIC_CHARS`]
/// characters, under the username's rules for what may be in it: no control, format,
/// bidi-control, invisible, private-use or unassigned character (but the joiners and
/// variation selectors of emoji), no white space but plain spaces, and no combining mark
/// without a letter before it or past [`MAX_MARKS_PER_CHARACTER`] on one. Topics are shown beside other people's text: a
/// right-to-left override or a line separator in one would reorder or break what is around it.
///
/// # Errors
/// `invalid_payload` with the reason (a refused character named by its code point).
pub fn normalize_topic(requested: &str) -> Result<String, Refusal> {
    let trimmed = requested.trim();
    if trimmed.chars().nth(MAX_TOPIC_CHARS * 4).is_some() {
        return Err(topic_too_long());
    }
    let topic: String = trimmed.nfc().collect();
    if topic.chars().count() > MAX_TOPIC_CHARS {
        return Err(topic_too_long());
    }
    let chars: Vec<char> = topic.chars().collect();
    let problem = chars.iter().enumerate().find_map(|(i, &c)| {
        let before = i.checked_sub(1).and_then(|j| chars.get(j)).copied();
        let after = chars.get(i + 1).copied();
        if part_of_an_emoji(before, c, after) {
            None
        } else {
            character_problem(c, "topic")
        }
    });
    if let Some(problem) = problem {
        return Err(Refusal::invalid_payload(problem));
    }
    let mut marks = 0;
    let mut after_letter = false;
    for c in topic.chars() {
        if c.general_category_group() == GeneralCategoryGroup::Mark {
            marks += 1;
            let code = u32::from(c);
            if !after_letter {
                return Err(Refusal::invalid_payload(format!(
                    "the topic has a combining mark (U+{code:04X}) with no letter before it"
                )));
            }
            if marks > MAX_MARKS_PER_CHARACTER {
                return Err(Refusal::invalid_payload(format!(
                    "the topic stacks more than {MAX_MARKS_PER_CHARACTER} combining marks on one character"
                )));
            }
        } else {
            marks = 0;
            after_letter = c != ' ';
        }
    }
    Ok(topic)
}

/// Whether `c`, an invisible character, is part of an emoji between `before` and `after`: a
/// variation selector after a symbol or a digit (❤️, 1️⃣), or a zero-width joiner between
/// symbols (👩‍💻). Elsewhere they are refused, as in names.
fn part_of_an_emoji(before: Option<char>, c: char, after: Option<char>) -> bool {
    let symbol = |c: Option<char>| {
        c.is_some_and(|c| {
            matches!(
                c.general_category(),
                GeneralCategory::OtherSymbol | GeneralCategory::ModifierSymbol
            ) || c == '\u{FE0F}'
        })
    };
    match c {
        '\u{FE0E}' | '\u{FE0F}' => {
            symbol(before) || before.is_some_and(|b| b.is_ascii_digit() || b == '#' || b == '*')
        }
        '\u{200D}' => symbol(before) && symbol(after),
        _ => false,
    }
}

fn topic_too_long() -> Refusal {
    Refusal::invalid_payload(format!("a topic is at most {MAX_TOPIC_CHARS} characters"))
}

/// Unicode's bidirectional formatting characters (UAX #9, section 2): they can reorder what is
/// shown around them, so a name could look like another or garble the line it appears in.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Characters that show nothing: `Default_Ignorable_Code_Point` (DerivedCoreProperties.txt,
/// unchanged from Unicode 14 to 17; no crate at hand exposes it), plus symbols drawn blank.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        // Default_Ignorable_Code_Point.
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
            // Blank glyphs that are not ignorable: BRAILLE PATTERN BLANK and MUSICAL SYMBOL
            // NULL NOTEHEAD.
            | '\u{2800}'
            | '\u{1D159}'
    )
}

/// Spaces only singly between words, and no word starting with a combining mark (NFKC turns
/// some spacing accents such as `´` into a space and a mark).
fn check_spacing(name: &str) -> Result<(), Refusal> {
    if name.starts_with(' ') || name.ends_with(' ') {
        return Err(invalid_username("the username starts or ends with a space"));
    }
    if name.contains("  ") {
        return Err(invalid_username("the username has several spaces in a row"));
    }
    let mut word_start = true;
    for c in name.chars() {
        if word_start && c.general_category_group() == GeneralCategoryGroup::Mark {
            return Err(invalid_username(format!(
                "the username has a combining mark (U+{:04X}) with no letter before it",
                u32::from(c)
            )));
        }
        word_start = c == ' ';
    }
    Ok(())
}

/// Names the scripts of a mixed-script name, in order of appearance.
fn mixed_script_message(name: &str) -> String {
    let mut scripts: Vec<Script> = Vec::new();
    for script in name.chars().map(|c| c.script()) {
        if !matches!(script, Script::Common | Script::Inherited) && !scripts.contains(&script) {
            scripts.push(script);
        }
    }
    if scripts.len() < 2 {
        return "the username mixes writing systems; use letters of one script".to_owned();
    }
    let names: Vec<&str> = scripts.iter().map(|s| s.full_name()).collect();
    format!(
        "the username mixes writing systems ({}); use letters of one script",
        names.join(", ")
    )
}

/// Checks a message text: not blank, at most `max_chars` characters.
///
/// # Errors
/// `empty_message` or `message_too_long`.
pub fn check_text(text: &str, max_chars: usize) -> Result<(), Refusal> {
    if text.trim().is_empty() {
        return Err(Refusal::new(
            ErrorCode::EmptyMessage,
            "the message is empty",
        ));
    }
    if text.chars().count() > max_chars {
        return Err(Refusal::new(
            ErrorCode::MessageTooLong,
            format!("messages are limited to {max_chars} characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The refusal's message for a name that must be refused as an invalid username.
    fn refusal_message(requested: &str) -> String {
        match normalize_username(requested) {
            Ok(name) => panic!("{requested:?} was accepted as {name:?}"),
            Err(refusal) => {
                assert_eq!(refusal.code, ErrorCode::InvalidUsername, "{requested:?}");
                refusal.message
            }
        }
    }

    /// Asserts the name is refused with a message containing `needle`.
    fn assert_refused(requested: &str, needle: &str) {
        let message = refusal_message(requested);
        assert!(
            message.contains(needle),
            "{requested:?}: {message:?} does not mention {needle:?}"
        );
    }

    #[test]
    fn topics_follow_the_username_s_rules_for_characters() {
        assert_eq!(normalize_topic("  ship v2  "), Ok("ship v2".to_owned()));
        assert_eq!(normalize_topic(""), Ok(String::new()), "no topic");
        assert_eq!(
            normalize_topic("Cafe\u{301} and Tiếng Việt and ไทย"),
            Ok("Café and Tiếng Việt and ไทย".to_owned()),
            "composed; accents and stacked vowels are fine"
        );
        assert!(normalize_topic(&"t".repeat(200)).is_ok());
        for (bad, why) in [
            ("evil\u{202E}txt.exe", "text-direction control (U+202E)"),
            ("one\u{2028}two", "line or paragraph separator (U+2028)"),
            ("zero\u{200B}width", "invisible character (U+200B)"),
            ("tab\there", "control characters (U+0009)"),
            (
                "a\u{3000}b",
                "white space other than a plain space (U+3000)",
            ),
            ("\u{301}x", "no letter before it"),
            ("x \u{301}", "no letter before it"),
            (
                "q\u{300}\u{301}\u{302}\u{303}\u{304}",
                "more than 4 combining marks",
            ),
        ] {
            let refused = normalize_topic(bad).expect_err(bad);
            assert_eq!(refused.code, ErrorCode::InvalidPayload);
            assert!(
                refused.message.contains(why),
                "{bad:?}: {}",
                refused.message
            );
        }
        for emoji in [
            "ship it \u{1F680}",
            "\u{2764}\u{FE0F} v2",
            "\u{1F469}\u{200D}\u{1F4BB} review",
            "1\u{FE0F}\u{20E3} first",
        ] {
            assert_eq!(normalize_topic(emoji).as_deref(), Ok(emoji), "{emoji:?}");
        }
        assert!(
            normalize_topic("a\u{200D}b").is_err(),
            "a joiner between letters"
        );
        let zalgo = format!("z{}", "\u{336}".repeat(100));
        assert!(normalize_topic(&zalgo).is_err(), "hundreds of marks");
        assert!(normalize_topic(&"t".repeat(201)).is_err());
    }

    #[test]
    fn usernames_are_trimmed_and_bounded() {
        // Proves the old rules hold: trimmed, 1–32 characters (not bytes), no control characters.
        assert_eq!(normalize_username("  alice "), Ok("alice".to_owned()));
        assert_eq!(
            normalize_username(&"é".repeat(32)).map(|n| n.chars().count()),
            Ok(32)
        );
        for bad in ["", "   ", "a\u{7}b", "tab\tname"] {
            assert_eq!(
                normalize_username(bad).map_err(|r| r.code),
                Err(ErrorCode::InvalidUsername)
            );
        }
        assert!(normalize_username(&"x".repeat(33)).is_err());
        assert_refused(&"x".repeat(10_000), "longer than 32");
        assert_eq!(username_key("ÁLice"), username_key("álice"));
    }

    #[test]
    fn length_is_counted_after_normalization() {
        // Proves the 32-character limit applies to the NFKC name: composed accents count once,
        // and a ligature that expands past the limit is refused.
        let decomposed = "e\u{301}".repeat(32);
        assert_eq!(
            normalize_username(&decomposed).map(|n| n.chars().count()),
            Ok(32)
        );
        assert_refused(&"\u{FB03}".repeat(11), "longer than 32"); // ﬃ is three letters
    }

    #[test]
    fn fullwidth_alice_normalizes_to_alice() {
        // Proves a fullwidth ａｌｉｃｅ becomes `alice`, so it collides with `alice` as taken.
        assert_eq!(normalize_username("ａｌｉｃｅ"), Ok("alice".to_owned()));
        assert_eq!(username_key("ＡＬＩＣＥ"), username_key("alice"));
    }

    #[test]
    fn cyrillic_a_in_alice_is_refused_as_mixed_script() {
        // Proves a Cyrillic а (U+0430) among Latin letters is refused, naming both scripts.
        assert_refused("\u{430}lice", "Latin");
        assert_refused("\u{430}lice", "Cyrillic");
        assert_refused("alice \u{3B1}", "mixes writing systems"); // Greek alpha
    }

    #[test]
    fn invisible_characters_are_refused() {
        // Proves zero-width, ignorable and blank characters are refused wherever they are.
        for (name, code) in [
            ("ali\u{200B}ce", "U+200B"),   // zero width space
            ("\u{200B}alice", "U+200B"),   // not trimmed away
            ("ali\u{200D}ce", "U+200D"),   // zero width joiner
            ("alice\u{2060}", "U+2060"),   // word joiner
            ("\u{FEFF}alice", "U+FEFF"),   // byte order mark
            ("ali\u{AD}ce", "U+00AD"),     // soft hyphen
            ("alice\u{FE0F}", "U+FE0F"),   // variation selector 16
            ("alice\u{E0041}", "U+E0041"), // tag latin capital letter a
            ("\u{115F}", "U+115F"),        // Hangul choseong filler
            ("alice\u{3164}", "U+"),       // Hangul filler (NFKC makes it U+1160)
            ("\u{3164}", "U+"),            // a name of only a Hangul filler
            ("\u{FFA0}", "U+"),            // halfwidth Hangul filler
            ("alice\u{2800}", "U+2800"),   // Braille pattern blank
            ("\u{2800}", "U+2800"),        // a name of only a Braille blank
        ] {
            assert_refused(name, "invisible");
            assert_refused(name, code);
        }
    }

    #[test]
    fn bidi_controls_are_refused() {
        // Proves every bidirectional control is refused, the RTL override U+202E among them.
        for c in ['\u{61C}', '\u{200E}', '\u{200F}', '\u{2066}', '\u{2069}']
            .into_iter()
            .chain('\u{202A}'..='\u{202E}')
        {
            assert_refused(&format!("alice{c}ecila"), "text-direction");
        }
        assert_refused("\u{202E}ecila", "U+202E");
    }

    #[test]
    fn line_separators_and_odd_spacing_are_refused() {
        // Proves U+2028/U+2029, tabs and repeated spaces are refused and messages hold no raw
        // character (they are logged).
        assert_refused("alice\u{2028}bob", "U+2028");
        assert_refused("alice\u{2029}bob", "line or paragraph separator");
        assert_refused("alice\u{1680}bob", "white space"); // Ogham space mark
        assert_refused("alice  bob", "several spaces");
        assert_refused("alice\u{A0}\u{A0}bob", "several spaces"); // NBSP becomes a space
        assert_refused("alice\u{B4}", "combining mark"); // NFKC: ´ is space + U+0301
        assert_refused("\u{301}alice", "combining mark");
        let message = refusal_message("alice\u{2028}\u{202E}");
        assert!(
            message.chars().all(|c| c.is_ascii_graphic() || c == ' '),
            "{message:?}"
        );
    }

    #[test]
    fn other_invisible_or_unreadable_characters_are_refused() {
        // Proves format, private-use and unassigned characters are refused, and so are names
        // without any letter or digit.
        assert_refused("alice\u{FFF9}", "formatting"); // interlinear annotation anchor
        assert_refused("alice\u{E000}", "private-use");
        assert_refused("alice\u{10FFFD}", "private-use");
        assert_refused("alice\u{E0FFF}", "invisible"); // unassigned but ignorable
        assert_refused("alice\u{50000}", "unassigned");
        assert_refused("-_-", "letter or digit");
        assert_refused("...", "letter or digit");
    }

    #[test]
    fn single_script_international_names_pass() {
        // Proves ordinary names in one script (plus digits and `-_.`) are accepted unchanged.
        for name in [
            "alice",
            "Bob Smith",
            "José",
            "Zoë_92",
            "Иван",
            "Мария-Ивановна",
            "李雷",
            "山田たろう",
            "김민준",
            "Γιώργος",
            "محمد",
            "דוד",
            "राहुल",
            "สมชาย",
            "o'neil.dev",
            "R2-D2",
            "alice 🦀",
            "007",
        ] {
            assert_eq!(normalize_username(name), Ok(name.to_owned()), "{name}");
        }
    }

    #[test]
    fn keys_are_full_case_folded() {
        // Proves uniqueness ignores case fully (ß is ss, ǅ is dž) and compatibility forms.
        assert_eq!(username_key("ÁLice"), username_key("álice"));
        assert_eq!(username_key("A\u{301}lice"), username_key("álice"));
        assert_eq!(username_key("Straße"), username_key("STRASSE"));
        assert_eq!(username_key("\u{1C5}"), username_key("dž"));
        assert_eq!(username_key("\u{1C4}"), username_key("\u{1C6}"));
        assert_eq!(username_key("ΣΊΣΥΦΟΣ"), username_key("σίσυφος"));
        assert_eq!(username_key("ИВАН"), username_key("иван"));
        assert_ne!(username_key("\u{430}lice"), username_key("alice"));
    }

    #[test]
    fn texts_must_have_content_and_fit() {
        assert!(check_text("hi", 4).is_ok());
        assert_eq!(
            check_text(" \n ", 4).map_err(|r| r.code),
            Err(ErrorCode::EmptyMessage)
        );
        assert_eq!(
            check_text("hello", 4).map_err(|r| r.code),
            Err(ErrorCode::MessageTooLong)
        );
        assert!(check_text("ñañá", 4).is_ok(), "characters, not bytes");
    }
}
