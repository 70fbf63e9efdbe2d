//! Helpers shared by the end-to-end tests: run the real binary, read what it printed.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `faultline` binary under test, without CI's step-summary variable (tests that want it
/// set it themselves).
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_faultline"));
    c.env_remove("GITHUB_STEP_SUMMARY");
    // Default output directories (`target/faultline`) are relative: keep them in the
    // workspace's target directory, never in a source folder.
    c.current_dir(root());
    c
}

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A fresh, empty directory `target/<area>/<name>` (never inside a source folder).
pub fn fresh_dir(area: &str, name: &str) -> PathBuf {
    let dir = root().join("target").join(area).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the binary to completion.
pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The exit code.
pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exited, not killed by a signal")
}

/// Headless Chromium: `FAULTLINE_CHROMIUM`, else `chromium`, `chromium-browser` or
/// `google-chrome` on `PATH`. Without one, says so and returns `None` (the caller skips),
/// unless `FAULTLINE_REQUIRE_BROWSER` is set: then it fails.
pub fn chromium() -> Option<PathBuf> {
    let found = find_chromium();
    if found.is_none() {
        assert!(
            std::env::var_os("FAULTLINE_REQUIRE_BROWSER").is_none(),
            "FAULTLINE_REQUIRE_BROWSER is set but no Chromium was found"
        );
        eprintln!("SKIPPED: no Chromium (set FAULTLINE_CHROMIUM, or apt-get install chromium)");
    }
    found
}

fn find_chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("FAULTLINE_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Loads `page` headless, runs its scripts, and returns the DOM as text.
pub fn dump_dom(browser: &Path, page: &Path) -> String {
    let profile = page.with_extension("profile");
    let o = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--virtual-time-budget=5000"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(o.status.success(), "chromium failed: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}
