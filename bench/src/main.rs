//! `firebreak-bench [--iterations N] [--bootstrap PATH] [--python PATH] [--latency-ms N] [--no-moto]
//! [--output PATH] [--profile-row LABEL BUILD_TIME] | --profile-header`:
//! prints the performance tables and the targets' verdicts, writes the same to a results file
//! (`--output PATH`, else `$FIREBREAK_BENCH_OUTPUT`, else `bench/results.md`) and prints its path
//! last. `--profile-row` prints one row of the release-profile comparison and writes no file.
//! `bash bench/run.sh` builds the release bootstrap and runs this; the method is in
//! docs/performance.md. `--burst [--sizes 1,10,50,100]`: the burst instead (issue 19), written
//! to bench/results-burst.md and its graph to bench/burst.svg (`bash bench/burst.sh`).

use std::path::PathBuf;
use std::time::Duration;

use firebreak_bench::burst::{run_burst, BurstOptions};
use firebreak_bench::{burst_report, run, table, write_results, BoxError, Options};

fn main() -> Result<(), BoxError> {
    let mut options = Options::for_workspace(&firebreak_tests::workspace_root());
    let mut profile_row = None;
    let (mut burst, mut burst_options) = (false, BurstOptions::default());
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
            "--burst" => burst = true,
            "--sizes" => {
                burst_options.sizes = value()?.split(',').map(str::parse).collect::<Result<_, _>>()?;
            }
            "--profile-header" => {
                println!("{}", table::PROFILE_HEADER);
                return Ok(());
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    if burst {
        burst_options.latency = options.paced_latency;
        let runs = run_burst(&options, &burst_options)?;
        let rendered = burst_report::render(&runs, burst_options.latency);
        print!("{rendered}");
        let root = firebreak_tests::workspace_root();
        let output = std::env::var_os("FIREBREAK_BURST_OUTPUT")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("bench/results-burst.md"));
        let graph = output.with_file_name("burst.svg");
        write_results(&output, &format!(
                "# Burst results\n\nmeasured: {} (method: docs/performance.md)\nmachine: {}\n\n{rendered}\n![time to isolate against N](burst.svg)\n",
                table::provenance(),
                table::machine()
            ))?;
        write_results(&graph, &burst_report::svg(&runs))?;
        println!("\nresults written to {} and {}", output.display(), graph.display());
        return Ok(());
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
