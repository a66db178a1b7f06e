//! One iteration of the bench, so that it cannot rot: the debug build of the quarantine-instance
//! main and the Python baseline, both as processes behind the runtime stub, against the instant
//! endpoint (with and without delay) and moto. No timing is asserted; round trips are counted,
//! and counts are structure, not timing.

use std::time::Duration;

use firebreak_bench::{run, table, write_results, EndpointKind, Implementation, Options};

#[test]
fn one_iteration_prints_the_table_and_counts_round_trips() {
    let mut options = Options::for_workspace(&firebreak_tests::workspace_root());
    options.iterations = 1;
    options.bootstrap = env!("CARGO_BIN_EXE_bench-bootstrap").into();
    options.function_bootstraps = vec![("quarantine-instance".into(), options.bootstrap.clone())];
    // Wide enough that side-by-side requests of a debug build on a busy machine still overlap, and
    // short enough that every other chain (4 rounds) ends well before the snapshot step's look,
    // which waits for 2 rounds plus the 300 ms settle pause.
    options.paced_latency = Duration::from_millis(100);
    options.log_dir = std::env::temp_dir().join(format!("firebreak-bench-smoke-{}", std::process::id()));
    let results = run(&options).expect("the bench runs");
    let printed = table::render(&results);
    println!("{printed}");

    for (kind, implementation, runs) in &results.runs {
        for run in runs {
            for invocation in [&run.first, &run.warm].into_iter().chain(run.paced.as_ref()) {
                assert_eq!(invocation.outcome, "contained", "{kind:?} {implementation:?}: {printed}");
                assert!(invocation.to_containment.is_some(), "{kind:?} {implementation:?}: every ENI isolated");
            }
        }
    }
    let rust =
        &results.runs.iter().find(|(k, i, _)| *k == EndpointKind::Instant && *i == Implementation::Rust).unwrap().2[0];
    let paced = rust.paced.as_ref().unwrap();
    assert_eq!(paced.rounds_to_containment, Some(table::MINIMUM_ROUNDS_TO_CONTAINMENT), "{printed}");
    assert!(paced.rounds_total <= table::MAX_ROUNDS_TOTAL, "{printed}");
    let python = &results
        .runs
        .iter()
        .find(|(k, i, _)| *k == EndpointKind::Instant && *i == Implementation::PythonBaseline)
        .unwrap()
        .2[0];
    assert!(python.paced.as_ref().unwrap().rounds_total > paced.rounds_total, "the baseline is sequential: {printed}");
    for heading in [
        "cold start",
        "peak RSS",
        "sequential round trips to containment",
        "handler CPU time",
        "## moto server",
        "zipped",
        "| quarantine-instance | ",
        "measured: ",
        "## Targets",
    ] {
        assert!(printed.contains(heading), "the table shows {heading}: {printed}");
    }
    // The results go to a file (bench/results.md by default; here the test's own directory, so the
    // committed file is left alone).
    let file = options.log_dir.join("nested/results.md");
    write_results(&file, &printed).expect("the results file is written");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), printed);
    let _ = std::fs::remove_dir_all(&options.log_dir);
}

/// A small burst (N = 2: three ENIs), as findings to two processes and as one attack sequence,
/// against EC2's token buckets: every ENI isolated, every answer `contained`, the moves counted.
/// No timing is asserted.
#[test]
fn a_small_burst_isolates_every_interface() {
    use firebreak_bench::burst::{run_burst, BurstOptions};
    let mut options = Options::for_workspace(&firebreak_tests::workspace_root());
    options.bootstrap = env!("CARGO_BIN_EXE_bench-bootstrap").into();
    options.log_dir = std::env::temp_dir().join(format!("firebreak-burst-smoke-{}", std::process::id()));
    let burst = BurstOptions { sizes: vec![2], ..BurstOptions::default() };
    let runs = run_burst(&options, &burst).expect("the burst runs");
    let printed = firebreak_bench::burst_report::render(&runs, burst.latency);
    assert_eq!(runs.len(), 4, "{printed}");
    for run in &runs {
        assert!(run.to_isolate.is_some(), "every ENI isolated: {printed}");
        assert_eq!((run.contained, run.answers), (run.answers, if run.processes == 2 { 2 } else { 1 }), "{printed}");
        assert_eq!(run.interfaces, 3);
        let moves = run.calls["ModifyNetworkInterfaceAttribute"];
        assert_eq!(moves.all - moves.throttled, 6, "two moves per ENI, no more: {printed}");
    }
    assert!(firebreak_bench::burst_report::svg(&runs).contains("<polyline"));
    let _ = std::fs::remove_dir_all(&options.log_dir);
}
