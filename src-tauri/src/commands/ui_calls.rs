//! (test) The commands against their callers: every command listed in `commands/mod.rs` is
//! invoked by `ui/src/api.ts`, every command it invokes is listed, the window's capability names
//! none but those, and the event names both sides spell agree.

use std::collections::BTreeSet;

use super::NAMES;

const API: &str = include_str!("../../../ui/src/api.ts");
const CAPABILITY: &str = include_str!("../../capabilities/default.json");

/// The names `api.ts` passes to its one `call<T>('name', …)`.
fn invoked(api: &str) -> BTreeSet<&str> {
    api.match_indices("call<")
        .filter_map(|(at, _)| {
            let rest = &api[at..];
            let open = rest.find('(')?;
            let quoted = rest[open + 1..].strip_prefix('\'')?;
            Some(&quoted[..quoted.find('\'')?])
        })
        .collect()
}

/// The app's own permissions the capability grants (those without a plugin's `name:` prefix).
fn app_permissions(capability: &str) -> BTreeSet<String> {
    let json: serde_json::Value = serde_json::from_str(capability).expect("the capability is JSON");
    json["permissions"]
        .as_array()
        .expect("a list of permissions")
        .iter()
        .filter_map(|p| p.as_str().or_else(|| p["identifier"].as_str()))
        .filter(|id| !id.contains(':'))
        .map(str::to_owned)
        .collect()
}

/// `api.ts`'s value of `export const NAME = '…';`.
fn ts_const<'a>(api: &'a str, name: &str) -> Option<&'a str> {
    let from = api.find(&format!("export const {name} = '"))? + name.len() + 17;
    Some(&api[from..from + api[from..].find('\'')?])
}

#[test]
fn every_command_has_a_caller_in_the_ui_and_every_call_a_command() {
    let listed: BTreeSet<&str> = NAMES.iter().copied().collect();
    assert_eq!(listed.len(), NAMES.len(), "a command listed twice");
    let called = invoked(API);
    let uncalled: Vec<_> = listed.difference(&called).collect();
    let unknown: Vec<_> = called.difference(&listed).collect();
    assert!(
        uncalled.is_empty() && unknown.is_empty(),
        "commands no UI code invokes: {uncalled:?}; calls of no command: {unknown:?}"
    );
    assert_eq!(
        API.matches("invoke<").count(),
        1,
        "api.ts invokes only through call()"
    );
}

#[test]
fn the_capability_grants_no_command_but_those_listed() {
    let granted = app_permissions(CAPABILITY);
    let all: BTreeSet<String> = NAMES
        .iter()
        .map(|n| format!("allow-{}", n.replace('_', "-")))
        .collect();
    assert!(
        granted.is_empty() || granted == all,
        "the capability names commands ({granted:?}): then it must name each one ({all:?})"
    );
}

#[test]
fn the_event_names_are_spelled_alike() {
    assert_eq!(
        ts_const(API, "CLIENT_EVENT"),
        Some(crate::bridge::CLIENT_EVENT)
    );
    assert_eq!(
        ts_const(API, "OPEN_CONVERSATION"),
        Some(crate::window::OPEN_CONVERSATION)
    );
}

#[test]
fn the_reader_finds_calls_and_only_calls() {
    let api = "function call<T>(command: string) {}\n\
               a: () => call<Done>('mark_read', { room }),\n\
               b: () => call<Map<string, X>>('search'),";
    assert_eq!(invoked(api), BTreeSet::from(["mark_read", "search"]));
    let capability = r#"{"permissions": ["core:event:allow-listen", "allow-search",
        {"identifier": "opener:allow-open-url"}, {"identifier": "allow-mark-read"}]}"#;
    assert_eq!(
        app_permissions(capability),
        BTreeSet::from(["allow-search".to_owned(), "allow-mark-read".to_owned()])
    );
}
