//! The protocols a binary knows, and the name it gives itself in the commands it prints.

use faultline_sim::runner::ProtocolRunner;

/// The protocols a `faultline`-style binary (or a test) can run, by scenario name, and how the
/// commands it prints (`… replay REPRO`, `… shrink REPRO`) name the binary.
#[derive(Clone)]
pub struct Registry<'a> {
    runners: Vec<&'a dyn ProtocolRunner>,
    binary: String,
}

impl<'a> Registry<'a> {
    /// A registry of `runners`, in the order `bugs` lists them. The binary name is this
    /// process's own file name (`faultline`, `faultline-raft-rs`, …).
    ///
    /// # Panics
    /// If two runners share a protocol name: that is a mistake in the binary's `main`, not input.
    pub fn new(runners: &[&'a dyn ProtocolRunner]) -> Registry<'a> {
        for (i, r) in runners.iter().enumerate() {
            assert!(
                runners[..i].iter().all(|o| o.name() != r.name()),
                "two runners are registered for protocol `{}`",
                r.name()
            );
        }
        Registry { runners: runners.to_vec(), binary: own_binary_name() }
    }

    /// The same registry printing `binary` in the commands it suggests (e.g.
    /// `cargo run --release -p my-crate --`).
    pub fn with_binary(mut self, binary: impl Into<String>) -> Registry<'a> {
        self.binary = binary.into();
        self
    }

    /// Every registered runner, in registration order.
    pub fn runners(&self) -> &[&'a dyn ProtocolRunner] {
        &self.runners
    }

    /// The names of the registered protocols.
    pub fn names(&self) -> Vec<&'static str> {
        self.runners.iter().map(|r| r.name()).collect()
    }

    /// The runner for protocol `name`, or an error listing the known ones.
    pub fn find(&self, name: &str) -> Result<&'a dyn ProtocolRunner, String> {
        self.runners.iter().copied().find(|r| r.name() == name).ok_or_else(|| {
            format!(
                "unknown protocol `{name}`: this binary ({}) knows {}",
                self.binary,
                if self.runners.is_empty() { "none".to_string() } else { self.names().join(", ") }
            )
        })
    }

    /// How printed commands start: the binary's name.
    pub fn binary(&self) -> &str {
        &self.binary
    }

    /// The exact command `BINARY SUBCOMMAND PATH`, with the path quoted for a shell.
    pub fn command(&self, subcommand: &str, path: &str) -> String {
        format!("{} {subcommand} {}", self.binary, faultline_reports::shell_quote(path))
    }
}

/// This process's file name without directories (`faultline` when it cannot be read).
fn own_binary_name() -> String {
    std::env::args_os()
        .next()
        .and_then(|a| std::path::Path::new(&a).file_name().map(|f| f.to_string_lossy().into_owned()))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "faultline".to_string())
}
