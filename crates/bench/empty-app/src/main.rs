//! An empty Tauri 2 app: one window showing a static page, nothing else. The desktop footprint
//! script (`scripts/footprint.sh`) measures Charla against it in the same run.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    if let Err(e) = tauri::Builder::default().run(tauri::generate_context!()) {
        eprintln!("charla-empty-app: {e}");
        std::process::exit(1);
    }
}
