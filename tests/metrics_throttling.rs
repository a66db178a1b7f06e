//! The metrics of a real run through the fault proxy: throttling answers counted as throttled
//! calls and as retries, a 5xx only as a retry, and both containment times present.

use std::time::SystemTime;

use firebreak::deadline::Deadline;
use firebreak::engine::metrics::{self, Metrics};
use firebreak::engine::Outcome;
use firebreak::events::GuardDutyFinding;
use firebreak::quarantine::quarantine_finding;
use firebreak::{Clients, QuarantineConfig};
use firebreak_tests::faults::{Fault, FaultProxy};
use firebreak_tests::moto::sdk_config_for;
use firebreak_tests::scenario::Setup;
use firebreak_tests::{Moto, Scenario};

#[tokio::test]
async fn throttled_and_retried_calls_and_the_containment_times_are_measured() {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let instance = scenario.compromised_instance(&Setup::bare()).await;
    let proxy = FaultProxy::start(&moto.endpoint);
    let clients = Clients::new(&sdk_config_for(&proxy.endpoint).await);
    let event = scenario.guardduty_event("quarantine-instance/guardduty-ec2-dos-actor.json", &instance);
    proxy.fail_nth("ModifyNetworkInterfaceAttribute", 1, Fault::Throttle);
    proxy.fail_nth("CreateSnapshots", 1, Fault::Throttle);
    proxy.fail_nth("CreateTags", 1, Fault::ServerError(503));

    let finding = GuardDutyFinding::from_event(&event).unwrap();
    let report = quarantine_finding(&clients, &QuarantineConfig::default(), &finding, Deadline::NONE).await.unwrap();
    assert_eq!(report.outcome, Outcome::Contained, "{report:#?}");
    assert_eq!(proxy.injected().len(), 3, "{:?}", proxy.injected());

    let measured = Metrics::of(&report);
    assert_eq!(measured.throttled_calls, 2, "the two throttling answers, not the 503: {report:#?}");
    assert_eq!(measured.calls_retried, 3, "every injected fault was retried: {report:#?}");
    assert_eq!(measured.steps_failed, 0);
    // The sample finding's updatedAt is in the past: containment came after it, and after the start.
    let (since_signal, since_start) =
        (measured.time_to_containment.unwrap(), measured.invocation_to_containment.unwrap());
    assert!(since_signal > since_start && since_start > 0.0, "{since_signal} {since_start}");
    let line = metrics::line(&report, SystemTime::now());
    assert_eq!((line["ThrottledCalls"].clone(), line["CallsRetried"].clone()), (2.into(), 3.into()), "{line:#}");
}
