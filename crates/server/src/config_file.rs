//! The server's settings file (`--config`, e.g. `/etc/charla/server.toml`): TOML whose keys are
//! the long options of `charla-server --help` (`port = 3050`, `allow-origin = ["https://…"]`),
//! read into the arguments they stand for. The binary puts them before its own, so options on
//! the command line and `CHARLA_*` variables override the file.

use std::path::{Path, PathBuf};

/// One setting of the file: an option and its values (several for a list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The long option, without its dashes (`rate-limit`; `rate_limit` in the file is read
    /// the same).
    pub option: String,
    /// Its values, as they would be typed; empty for a switch that is on.
    pub values: Vec<String>,
}

/// Why a settings file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    /// It could not be read.
    #[error("cannot read the settings file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// It is not TOML.
    #[error("the settings file {path} is not valid TOML: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's account, with the line.
        message: String,
    },
    /// A key holds something no option takes (a table, a date, a list of lists).
    #[error(
        "the settings file {path}: `{key}` must be a string, number, true/false or a list of them"
    )]
    Value {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
    },
}

/// Reads the settings of the file at `path` (by key: the order of options does not matter).
///
/// # Errors
/// [`ConfigFileError`] when it cannot be read, is not TOML, or holds a value no option takes.
pub fn read(path: &Path) -> Result<Vec<Setting>, ConfigFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &text)
}

fn parse(path: &Path, text: &str) -> Result<Vec<Setting>, ConfigFileError> {
    let table: toml::Table =
        text.parse()
            .map_err(|e: toml::de::Error| ConfigFileError::Syntax {
                path: path.to_owned(),
                message: e.to_string().trim_end().to_owned(),
            })?;
    let mut settings = Vec::with_capacity(table.len());
    for (key, value) in table {
        let bad = || ConfigFileError::Value {
            path: path.to_owned(),
            key: key.clone(),
        };
        let values = match value {
            toml::Value::Array(items) => items
                .into_iter()
                .map(|item| scalar(item).ok_or_else(bad))
                .collect::<Result<Vec<_>, _>>()?,
            // A switch: on is the option alone, off is no option at all.
            toml::Value::Boolean(false) => continue,
            toml::Value::Boolean(true) => Vec::new(),
            other => vec![scalar(other).ok_or_else(bad)?],
        };
        settings.push(Setting {
            option: key.replace('_', "-"),
            values,
        });
    }
    Ok(settings)
}

fn scalar(value: toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s),
        toml::Value::Integer(n) => Some(n.to_string()),
        toml::Value::Float(x) => Some(x.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        toml::Value::Datetime(_) | toml::Value::Array(_) | toml::Value::Table(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(text: &str) -> Result<Vec<Setting>, ConfigFileError> {
        parse(Path::new("server.toml"), text)
    }

    #[test]
    fn keys_are_options_and_lists_repeat_them() {
        let read = settings(
            "# a comment\nport = 4000\nhost = \"0.0.0.0\"\nallow_origin = [\"https://a.example\", \"https://b.example\"]\n",
        )
        .expect("reads");
        assert_eq!(
            read,
            vec![
                Setting {
                    option: "allow-origin".into(),
                    values: vec!["https://a.example".into(), "https://b.example".into()]
                },
                Setting {
                    option: "host".into(),
                    values: vec!["0.0.0.0".into()]
                },
                Setting {
                    option: "port".into(),
                    values: vec!["4000".into()]
                },
            ]
        );
    }

    #[test]
    fn a_switch_is_on_or_left_out() {
        let read = settings("quiet = true\nloud = false\n").expect("reads");
        assert_eq!(
            read,
            vec![Setting {
                option: "quiet".into(),
                values: vec![]
            }]
        );
    }

    #[test]
    fn bad_files_say_where() {
        let syntax = settings("port = \n").expect_err("refused").to_string();
        assert!(syntax.contains("server.toml is not valid TOML"), "{syntax}");
        assert!(syntax.contains("line 1"), "{syntax}");
        let value = settings("[section]\nport = 1\n")
            .expect_err("refused")
            .to_string();
        assert!(value.contains("`section` must be"), "{value}");
    }
}
