//! The `charla` binary.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    charla_desktop::run();
}
