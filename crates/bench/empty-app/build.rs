//! Tauri's build step for the empty app.
fn main() {
    tauri_build::build();
}
