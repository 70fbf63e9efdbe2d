//! Printing that a closed pipe cannot crash (`faultline bugs --format json | head` must end
//! quietly, not panic as `println!` does), the interrupt flag behind Ctrl-C, and the budget
//! every run of the command line gets (wall clock, interrupt, a progress line on a terminal).

use faultline_sim::world::{Progress, Watchdog};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Writes a line to standard output; a closed pipe or a full disk is ignored (the reader has
/// gone; the command still finishes and returns its exit code).
pub fn line(args: std::fmt::Arguments<'_>) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_fmt(args).and_then(|_| o.write_all(b"\n"));
}

/// Writes to standard output without a newline, ignoring a closed pipe.
pub fn text(s: &str) {
    let _ = std::io::stdout().lock().write_all(s.as_bytes());
}

/// Writes a line to standard error, ignoring a closed pipe.
pub fn err_line(args: std::fmt::Arguments<'_>) {
    let mut o = std::io::stderr().lock();
    let _ = o.write_fmt(args).and_then(|_| o.write_all(b"\n"));
}

/// A writer over standard output that swallows write errors (a closed pipe).
pub struct QuietStdout;

impl Write for QuietStdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stdout().lock().write_all(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stdout().lock().flush();
        Ok(())
    }
}

/// `println!` that survives a closed pipe.
#[macro_export]
#[doc(hidden)]
macro_rules! outln {
    ($($t:tt)*) => { $crate::out::line(format_args!($($t)*)) };
}

/// `eprintln!` that survives a closed pipe.
#[macro_export]
#[doc(hidden)]
macro_rules! errln {
    ($($t:tt)*) => { $crate::out::err_line(format_args!($($t)*)) };
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether Ctrl-C was pressed (once).
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// Installs the Ctrl-C handler: the first press asks running work to stop and report what
/// finished; a second press exits at once. Called by [`crate::cli::App::main`], never by the
/// test helpers (a test process's signals are the test runner's).
pub fn catch_interrupts() {
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        err_line(format_args!(
            "\ninterrupted: finishing the reports for what ran (press Ctrl-C again to quit at once)"
        ));
    });
}

/// The reason a run stopped on an interrupt; such runs are not results.
pub const INTERRUPTED_REASON: &str = "interrupted (Ctrl-C)";

/// The watchdog of one run: stops it as inconclusive when its wall-clock budget
/// (`limits.wall_ms`) runs out or Ctrl-C was pressed, and with `progress` draws a progress line
/// on standard error once a second.
pub fn watchdog(wall_ms: u64, progress: bool) -> Watchdog {
    let started = Instant::now();
    let budget = Duration::from_millis(wall_ms);
    let mut last_draw = started;
    let mut drawn = false;
    Box::new(move |p: Progress| {
        if interrupted() {
            return Some(INTERRUPTED_REASON.to_string());
        }
        let elapsed = started.elapsed();
        if elapsed >= budget {
            if drawn {
                err_line(format_args!(""));
            }
            return Some(format!(
                "stopped at limits.wall_ms = {wall_ms} (wall-clock budget) after {} events, {} of {} simulated",
                p.events, p.now, p.end
            ));
        }
        if progress && last_draw.elapsed() >= Duration::from_secs(1) {
            last_draw = Instant::now();
            drawn = true;
            let pct = if p.end.0 == 0 { 100.0 } else { p.now.0 as f64 * 100.0 / p.end.0 as f64 };
            let mut e = std::io::stderr().lock();
            let _ = write!(
                e,
                "\r  {:.1} s of {:.1} s simulated ({pct:.0}%), {} events, {:.0} s of the {:.0} s budget   ",
                p.now.as_ms_f64() / 1e3,
                p.end.as_ms_f64() / 1e3,
                p.events,
                elapsed.as_secs_f64(),
                budget.as_secs_f64()
            );
            let _ = e.flush();
        }
        None
    })
}

/// Whether a progress line for a single run should be drawn (standard error is a terminal).
pub fn progress_wanted() -> bool {
    std::io::stderr().is_terminal()
}
