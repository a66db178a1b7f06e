//! The `firebreak:` tag keys written on resources, and the helpers that read them back.

use std::collections::BTreeMap;

pub const CASE: &str = "firebreak:case";
pub const FINDING_ID: &str = "firebreak:finding-id";
pub const FINDING_TYPE: &str = "firebreak:finding-type";
pub const QUARANTINED_AT: &str = "firebreak:quarantined-at";
pub const INSTANCE_ID: &str = "firebreak:instance-id";
/// On each snapshot: which CreateSnapshots call made it, to tell racing deliveries apart.
pub const SNAPSHOT_SET: &str = "firebreak:snapshot-set";
/// On a user or role: when Firebreak first revoked its credentials.
pub const CREDENTIALS_REVOKED_AT: &str = "firebreak:credentials-revoked-at";
/// On each ENI: the groups it had before isolation, so a release can put them back.
pub const ORIGINAL_GROUPS: &str = "firebreak:original-groups";
pub const AUTOSCALING_GROUP: &str = "firebreak:autoscaling-group";
pub const INSTANCE_PROFILE: &str = "firebreak:instance-profile";
/// On the instance: the forensic instance profile (its name) a quarantine put in place of its own.
pub const FORENSIC_INSTANCE_PROFILE: &str = "firebreak:forensic-instance-profile";
/// On the instance: the Run Command that captures its volatile state for the case.
pub const EVIDENCE_COMMAND: &str = "firebreak:evidence-command";
/// On the instance: its termination protection (`true`/`false`) and shutdown behaviour
/// (`stop`/`terminate`) before the case, so a release can put them back.
pub const TERMINATION_PROTECTION_BEFORE: &str = "firebreak:termination-protection-before";
pub const SHUTDOWN_BEHAVIOR_BEFORE: &str = "firebreak:shutdown-behavior-before";
/// On the instance: the target groups it was registered in, as `<target group ARN>@<port>` items
/// (the port empty when the group's default applies), a list tag.
pub const TARGET_GROUPS: &str = "firebreak:target-groups";
/// On the instance: each EBS device's DeleteOnTermination before the case, as `<device>=<true|false>`
/// items (a list tag), so a release can put back the ones Firebreak turned off.
pub const DELETE_ON_TERMINATION_BEFORE: &str = "firebreak:delete-on-termination-before";
/// On a forensic copy of a snapshot: the snapshot it was copied from, and the account it is for.
pub const SOURCE_SNAPSHOT: &str = "firebreak:source-snapshot";
pub const FORENSIC_ACCOUNT: &str = "firebreak:forensic-account";
/// On the instance: when Firebreak last started a GuardDuty malware scan of it, and the scan's id.
pub const MALWARE_SCAN_AT: &str = "firebreak:malware-scan-at";
pub const MALWARE_SCAN_ID: &str = "firebreak:malware-scan-id";
/// In the case ledger (not tags): each access key a revocation disabled
/// (`firebreak:disabled-access-key:<id>` = user), and each inline policy it wrote
/// (`firebreak:policy:<name>` = `user/<name>` or `role/<name>`), recorded on the principal
/// (`user/<name>`, `role/<name>`), so a release with credentials undoes exactly those.
pub const DISABLED_ACCESS_KEY_PREFIX: &str = "firebreak:disabled-access-key:";
pub const POLICY_PREFIX: &str = "firebreak:policy:";
/// On a contained Lambda function (and in the case): its reserved concurrency before the case,
/// a number, or `none` when it had no reservation, so a release can put it back.
pub const RESERVED_CONCURRENCY_BEFORE: &str = "firebreak:reserved-concurrency-before";
pub const NO_RESERVED_CONCURRENCY: &str = "none";
/// On an ECS task (and in the case): `false` when Firebreak turned its scale-in protection on, so
/// a release turns it off again (a task protected before the case gets no such tag).
pub const TASK_PROTECTION_BEFORE: &str = "firebreak:task-protection-before";

/// On a released instance or principal: when, by whom, and which case was released. The case
/// tags stay (evidence); a resource whose case was released opens a new case when next hit.
pub const RELEASED_AT: &str = "firebreak:released-at";
pub const RELEASED_BY: &str = "firebreak:released-by";
pub const RELEASED_CASE: &str = "firebreak:released-case";

/// The case a resource is in, unless that case was released.
pub fn open_case(tags: &BTreeMap<String, String>) -> Option<&String> {
    tags.get(CASE).filter(|case| tags.get(RELEASED_CASE) != Some(*case))
}

/// On the groups Firebreak creates: `isolation` or `untracking`.
pub const ROLE: &str = "firebreak:role";
pub const ROLE_ISOLATION: &str = "isolation";
pub const ROLE_UNTRACKING: &str = "untracking";

/// EC2 tag values hold at most 256 characters.
pub const MAX_VALUE_LEN: usize = 256;

/// Stores a comma-separated list under `key`, spilling into `key:2`, `key:3`... when it exceeds
/// one tag value, instead of truncating what a release will need.
pub fn list_tags(key: &str, items: &[String]) -> Vec<(String, String)> {
    let mut chunks: Vec<String> = vec![String::new()];
    for item in items {
        let current = chunks.last_mut().expect("chunks starts non-empty");
        let needed = if current.is_empty() { item.len() } else { current.len() + 1 + item.len() };
        if needed > MAX_VALUE_LEN && !current.is_empty() {
            chunks.push(item.clone());
        } else {
            if !current.is_empty() {
                current.push(',');
            }
            current.push_str(item);
        }
    }
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, value)| (if i == 0 { key.to_string() } else { format!("{key}:{}", i + 1) }, value))
        .collect()
}

/// Reads back a list written by [`list_tags`]; `None` when the key is absent.
pub fn read_list(tags: &BTreeMap<String, String>, key: &str) -> Option<Vec<String>> {
    let first = tags.get(key)?;
    let mut items: Vec<String> = split(first);
    for n in 2.. {
        match tags.get(&format!("{key}:{n}")) {
            Some(more) => items.extend(split(more)),
            None => break,
        }
    }
    Some(items)
}

fn split(value: &str) -> Vec<String> {
    value.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lists_fit_one_tag_and_long_ones_spill_without_loss() {
        let short = vec!["sg-0123456789abcdef0".to_string(), "sg-11111111".to_string()];
        assert_eq!(
            list_tags(ORIGINAL_GROUPS, &short),
            vec![(ORIGINAL_GROUPS.to_string(), "sg-0123456789abcdef0,sg-11111111".to_string())]
        );

        let long: Vec<String> = (0..16).map(|i| format!("sg-{i:017x}")).collect();
        let written = list_tags(ORIGINAL_GROUPS, &long);
        assert_eq!(written.len(), 2);
        assert!(written.iter().all(|(_, v)| v.len() <= MAX_VALUE_LEN));
        let map: BTreeMap<String, String> = written.into_iter().collect();
        assert_eq!(read_list(&map, ORIGINAL_GROUPS).unwrap(), long);
    }

    #[test]
    fn absent_list_is_none() {
        assert_eq!(read_list(&BTreeMap::new(), ORIGINAL_GROUPS), None);
    }
}
