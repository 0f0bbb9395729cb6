//! `sw-python collector`: the local collector, run in the foreground of this process.

use pyo3::prelude::*;

/// Runs the local collector until Ctrl-C or SIGTERM. `argv[0]` names the program in
/// messages; the rest are the collector's options. Returns the exit code.
#[pyfunction]
pub fn run_collector(py: Python<'_>, argv: Vec<String>) -> u8 {
    let mut args = argv.into_iter();
    let program = args.next().unwrap_or_else(|| "sw-python collector".to_owned());
    py.allow_threads(|| sw_collector::cli::run(&program, args))
}
