//! `faultline check-history`, as a library function the CLI calls.

use std::io::Write;
use std::path::PathBuf;

use crate::formats::{self, Format, InputError};
use crate::models::{self, CasRegister, Kv, KvWhole, Register};
use crate::{check_with, edn::Edn, Budget, CheckOptions, Explanation, Verdict};

/// Options of `faultline check-history`.
#[derive(Clone, Debug, Default)]
pub struct CheckHistoryOptions {
    /// One of [`models()`].
    pub model: String,
    /// The files' format; [`Format::Auto`] guesses per file.
    pub format: Format,
    /// Initial register value (`--init`): an integer or `nil`; only for `register` and
    /// `cas-register`.
    pub init: Option<String>,
    /// Where to write an HTML explanation of the non-linearizable histories (`--explain`).
    pub explain: Option<PathBuf>,
    /// Budget per file.
    pub budget: Budget,
    /// The history files, checked in this order.
    pub files: Vec<PathBuf>,
}

/// How a `check-history` run ended (bad input is an `Err(InputError)` instead, exit code 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistoryOutcome {
    /// Every history is linearizable (exit code 0).
    AllLinearizable,
    /// At least one history is not linearizable (exit code 1).
    NotLinearizable,
    /// None failed but at least one ran out of budget (exit code 3).
    Unknown,
}

impl HistoryOutcome {
    /// The process exit code the contract assigns.
    pub fn exit_code(self) -> i32 {
        match self {
            HistoryOutcome::AllLinearizable => 0,
            HistoryOutcome::NotLinearizable => 1,
            HistoryOutcome::Unknown => 3,
        }
    }
}

/// The model names `--model` accepts.
pub fn models() -> &'static [&'static str] {
    models::MODEL_NAMES
}

fn parse_init(init: Option<&str>) -> Result<Option<i64>, InputError> {
    let Some(text) = init else { return Ok(None) };
    match formats::parse_edn_value(text.trim()) {
        Ok(Edn::Nil) => Ok(None),
        Ok(Edn::Int(i)) => Ok(Some(i)),
        _ => Err(InputError::file("--init", format!("expected an integer or nil, found `{text}`"))),
    }
}

/// Runs `check-history`: checks every file of `opts.files` with `opts.model`, writing to `out` one
/// line per file (`FILE: linearizable`, `FILE: not linearizable` or `FILE: unknown (why)`), then, if
/// any file was inconclusive, `N unknown (...)`, and last `N passed, N failed`.
///
/// Every file is read and parsed before anything is checked or printed, so bad input (an `Err`,
/// exit code 2, displayed as `FILE:LINE:COL: what is wrong`) produces no partial report.
///
/// Wiring it into a command-line tool:
///
/// ```no_run
/// # use faultline_lincheck::{check_history_files, CheckHistoryOptions};
/// let opts = CheckHistoryOptions { model: "cas-register".into(), files: vec!["h.log".into()], ..Default::default() };
/// let code = match check_history_files(&opts, &mut std::io::stdout().lock()) {
///     Ok(outcome) => outcome.exit_code(),
///     Err(e) => {
///         eprintln!("{e}");
///         e.exit_code()
///     }
/// };
/// std::process::exit(code);
/// ```
pub fn check_history_files(opts: &CheckHistoryOptions, out: &mut dyn Write) -> Result<HistoryOutcome, InputError> {
    let model = opts.model.as_str();
    if !models().contains(&model) {
        return Err(InputError::file(
            "--model",
            format!("unknown model `{model}` (expected one of: {})", models().join(", ")),
        ));
    }
    if opts.init.is_some() && !matches!(model, "register" | "cas-register") {
        return Err(InputError::file("--init", format!("--init applies to register and cas-register, not `{model}`")));
    }
    let init = parse_init(opts.init.as_deref())?;
    if opts.files.is_empty() {
        return Err(InputError::file("check-history", "no history files given"));
    }

    enum Parsed {
        Register(Vec<crate::Operation<models::RegisterInput, models::RegisterOutput>>),
        Kv(Vec<crate::Operation<models::KvInput, models::KvOutput>>),
        Mutex(Vec<crate::Operation<models::MutexInput, models::MutexOutput>>),
        Multi(Vec<crate::Operation<models::MultiInput, models::MultiOutput>>),
    }
    let mut parsed = Vec::with_capacity(opts.files.len());
    for path in &opts.files {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| InputError::file(&name, format!("cannot read: {e}")))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
            let line_start = good.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            // `good` is valid UTF-8 up to the bad byte: count characters, not bytes.
            let col = std::str::from_utf8(&good[line_start..]).map_or(1, |l| l.chars().count() + 1);
            InputError { file: name.clone(), line, col, message: "not valid UTF-8".into() }
        })?;
        let p = match model {
            "register" => Parsed::Register(formats::parse_register(&name, &text, opts.format, false)?),
            "cas-register" => Parsed::Register(formats::parse_register(&name, &text, opts.format, true)?),
            "kv" | "kv-whole" => Parsed::Kv(formats::parse_kv(&name, &text, opts.format)?),
            "multi-register" => Parsed::Multi(formats::parse_multi_register(&name, &text, opts.format)?),
            _ => Parsed::Mutex(formats::parse_mutex(&name, &text, opts.format)?),
        };
        parsed.push((name, p));
    }

    let io_err = |e: std::io::Error| InputError::file("<output>", format!("cannot write: {e}"));
    let (mut passed, mut failed, mut unknown) = (0usize, 0usize, 0usize);
    let mut explanations: Vec<(String, Explanation)> = Vec::new();
    for (name, p) in &parsed {
        // Minimising an explanation is wasted work unless someone will read it.
        let copts =
            CheckOptions { budget: opts.budget.clone(), minimize: opts.explain.is_some(), ..CheckOptions::default() };
        let verdict = match (p, model) {
            (Parsed::Register(ops), "register") => check_with(&Register { init }, ops, &copts),
            (Parsed::Register(ops), _) => check_with(&CasRegister { init }, ops, &copts),
            (Parsed::Kv(ops), "kv") => check_with(&Kv::new(), ops, &copts),
            (Parsed::Kv(ops), _) => check_with(&KvWhole::new(), ops, &copts),
            (Parsed::Mutex(ops), _) => check_with(&models::Mutex, ops, &copts),
            (Parsed::Multi(ops), _) => check_with(&models::MultiRegister, ops, &copts),
        };
        writeln!(out, "{name}: {verdict}").map_err(io_err)?;
        match verdict {
            Verdict::Linearizable => passed += 1,
            Verdict::NotLinearizable(e) => {
                failed += 1;
                explanations.push((name.clone(), *e));
            }
            Verdict::Unknown(_) => unknown += 1,
        }
    }
    if let Some(path) = &opts.explain {
        let html_name = path.display().to_string();
        let sections: Vec<(&str, &Explanation)> = explanations.iter().map(|(n, e)| (n.as_str(), e)).collect();
        let mut buf = Vec::new();
        crate::explain_html_page(&sections, &mut buf)
            .and_then(|_| std::fs::write(path, &buf))
            .map_err(|e| InputError::file(&html_name, format!("cannot write the explanation: {e}")))?;
    }
    if unknown > 0 {
        writeln!(out, "{unknown} unknown (out of budget: counted as neither passed nor failed)").map_err(io_err)?;
    }
    writeln!(out, "{passed} passed, {failed} failed").map_err(io_err)?;
    Ok(if failed > 0 {
        HistoryOutcome::NotLinearizable
    } else if unknown > 0 {
        HistoryOutcome::Unknown
    } else {
        HistoryOutcome::AllLinearizable
    })
}

/// Checks one history `text` (in `format`) against `model` (a [`models()`] name) and explains it
/// if it is not linearizable (`Ok(None)`: it is, or the budget ran out). `name` is what errors
/// call the history. What `faultline explain` uses on a run's exported history.
pub fn explain_text(
    model: &str,
    init: Option<i64>,
    format: Format,
    name: &str,
    text: &str,
    budget: Budget,
) -> Result<Option<Explanation>, InputError> {
    let copts = CheckOptions { budget, minimize: true, ..CheckOptions::default() };
    let verdict = match model {
        "register" => check_with(&Register { init }, &formats::parse_register(name, text, format, false)?, &copts),
        "cas-register" => {
            check_with(&CasRegister { init }, &formats::parse_register(name, text, format, true)?, &copts)
        }
        "kv" => check_with(&Kv::new(), &formats::parse_kv(name, text, format)?, &copts),
        "kv-whole" => check_with(&KvWhole::new(), &formats::parse_kv(name, text, format)?, &copts),
        "multi-register" => {
            check_with(&models::MultiRegister, &formats::parse_multi_register(name, text, format)?, &copts)
        }
        "mutex" => check_with(&models::Mutex, &formats::parse_mutex(name, text, format)?, &copts),
        other => {
            return Err(InputError::file(
                "--model",
                format!("unknown model `{other}` (expected one of: {})", models().join(", ")),
            ))
        }
    };
    Ok(match verdict {
        Verdict::NotLinearizable(e) => Some(*e),
        _ => None,
    })
}
