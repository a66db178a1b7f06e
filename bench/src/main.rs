//! `firebreak-bench [--iterations N] [--bootstrap PATH] [--python PATH] [--latency-ms N] [--no-moto]
//! [--output PATH] [--profile-row LABEL BUILD_TIME] | --profile-header`:
//! prints the performance tables and the targets' verdicts, writes the same to a results file
//! (`--output PATH`, else `$FIREBREAK_BENCH_OUTPUT`, else `bench/results.md`) and prints its path
//! last. `--profile-row` prints one row of the release-profile comparison and writes no file.
//! `bash bench/run.sh` builds the release bootstrap and runs this; the method is in
//! docs/performance.md.

use std::path::PathBuf;
use std::time::Duration;

use firebreak_bench::{run, table, write_results, BoxError, Options};

fn main() -> Result<(), BoxError> {
    let mut options = Options::for_workspace(&firebreak_tests::workspace_root());
    let mut profile_row = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--iterations" => options.iterations = value()?.parse()?,
            "--bootstrap" => options.bootstrap = PathBuf::from(value()?),
            "--python" => options.python = PathBuf::from(value()?),
            "--latency-ms" => options.paced_latency = Duration::from_millis(value()?.parse()?),
            "--no-moto" => options.with_moto = false,
            "--output" => options.output = PathBuf::from(value()?),
            // `--profile-row LABEL BUILD_TIME`: print only this bootstrap's row of the
            // release-profile comparison (bench/profiles.sh).
            "--profile-row" => profile_row = Some((value()?, value()?)),
            "--profile-header" => {
                println!("{}", table::PROFILE_HEADER);
                return Ok(());
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let results = run(&options)?;
    match profile_row {
        Some((label, build)) => println!("{}", table::profile_row(&label, &build, &results)),
        None => {
            let rendered = table::render(&results);
            print!("{rendered}");
            write_results(&options.output, &rendered)?;
            let written = std::fs::canonicalize(&options.output).unwrap_or(options.output);
            println!("\nresults written to {}", written.display());
        }
    }
    Ok(())
}
