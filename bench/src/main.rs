//! `firebreak-bench [--iterations N] [--bootstrap PATH] [--python PATH] [--latency-ms N] [--no-moto]`:
//! prints the performance table (see README "Performance"). `bash bench/run.sh` builds the release
//! bootstrap and runs this.

use std::path::PathBuf;
use std::time::Duration;

use firebreak_bench::{run, table, BoxError, Options};

fn main() -> Result<(), BoxError> {
    let mut options = Options::for_workspace(&firebreak_tests::workspace_root());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--iterations" => options.iterations = value()?.parse()?,
            "--bootstrap" => options.bootstrap = PathBuf::from(value()?),
            "--python" => options.python = PathBuf::from(value()?),
            "--latency-ms" => options.paced_latency = Duration::from_millis(value()?.parse()?),
            "--no-moto" => options.with_moto = false,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let results = run(&options)?;
    print!("{}", table::render(&results));
    Ok(())
}
