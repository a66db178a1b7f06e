//! `firebreak policy check FILE`: validates a response policy offline and shows, for every sample
//! in `events/`, the function it goes to and the rule and mode it would get. No AWS call.

use std::path::Path;

use firebreak::response_policy::{self, Policy, PolicyInput};
use serde_json::Value;

use crate::error::{CliError, Result};
use crate::plan::route;

/// Validates the policy (an error names its line and column), then decides every sample.
pub fn check(file: &Path, events: &Path) -> Result<()> {
    let default_mode = response_policy::default_mode(|name| std::env::var(name).ok()).map_err(CliError::invalid)?;
    let policy =
        Policy::from_file(file, default_mode).map_err(|e| CliError::invalid(format!("{}: {e}", file.display())))?;
    println!("{}: valid, {} rules, default mode {}", file.display(), policy.rules.len(), policy.default_mode.as_str());
    for (path, line) in decisions(&policy, events)? {
        println!("{path}\n  {line}");
    }
    Ok(())
}

/// Each sample's path under `events/` and its decision in one line, in path order.
pub fn decisions(policy: &Policy, events: &Path) -> Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    let read = |dir: &Path| {
        std::fs::read_dir(dir).map_err(|e| CliError::invalid(format!("cannot read {}: {e}", dir.display())))
    };
    for folder in read(events)?.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_dir()) {
        files.extend(read(&folder)?.filter_map(|e| e.ok()).map(|e| e.path()));
    }
    files.sort();
    let mut lines = Vec::new();
    for file in files.iter().filter(|f| f.extension().is_some_and(|e| e == "json")) {
        let name = file.strip_prefix(events).unwrap_or(file).display().to_string();
        let text = std::fs::read_to_string(file).map_err(|e| CliError::invalid(format!("cannot read {name}: {e}")))?;
        let event: Value =
            serde_json::from_str(&text).map_err(|e| CliError::invalid(format!("{name} is not JSON: {e}")))?;
        let line = match route(&event) {
            Ok(route) => {
                let decision = policy.decide(&PolicyInput::from_event(&event, route.function()));
                format!("{} → {}: {}", route.function(), decision.mode.as_str(), decision.because)
            }
            Err(why) => format!("no function: {why}"),
        };
        lines.push((name, line));
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(path: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
    }

    #[test]
    fn the_documented_policy_decides_every_sample() {
        let policy =
            Policy::from_file(&repo("docs/response-policy.json"), response_policy::Mode::Contain).expect("valid");
        let lines = decisions(&policy, &repo("events")).expect("samples");
        assert!(lines.len() >= 20, "{} samples", lines.len());
        let line = |name: &str| lines.iter().find(|(n, _)| n == name).map(|(_, l)| l.as_str()).unwrap_or_default();
        assert_eq!(
            line("quarantine-instance/guardduty-ec2-dos-actor.json"),
            "quarantine-instance → contain: rule 3 \"sandbox DoS relay contained at once\": type Backdoor:EC2/DenialOfService.Tcp (Backdoor:EC2/*), severity 8, account 123456789012"
        );
        assert!(line("revoke-credentials/guardduty-root-credential-usage.json")
            .starts_with("revoke-credentials → observe: rule 5"));
        assert!(lines.iter().all(|(_, l)| !l.starts_with("no function")), "{lines:?}");
    }

    #[test]
    fn an_invalid_policy_is_refused_with_its_line() {
        let dir = std::env::temp_dir().join(format!("firebreak-policy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("bad.json");
        std::fs::write(
            &file,
            "{\n  \"rules\": [\n    {\"name\": \"x\", \"mode\": \"contain\", \"terminate\": true}\n  ]\n}\n",
        )
        .expect("write");
        let err = check(&file, &repo("events")).unwrap_err();
        std::fs::remove_dir_all(&dir).ok();
        assert!(matches!(err, CliError::Invalid(_)));
        assert!(err.to_string().contains("line 3, column") && err.to_string().contains("terminate"), "{err}");
    }
}
