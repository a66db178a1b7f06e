//! Reading the endpoint's record: when was the instance contained, and how many round trips
//! had to happen one after another to get there.

use std::collections::BTreeSet;
use std::time::Instant;

use crate::endpoint::Recorded;

/// Length of the longest chain of requests ending with each request, where each request in the
/// chain was sent only after the one before it was answered. Requests sent side by side overlap
/// and share a depth; so the depth of a request is the sequential round trips it waited for.
pub fn depths(records: &[Recorded]) -> Vec<usize> {
    let mut depths = vec![1; records.len()];
    for i in 0..records.len() {
        for j in 0..records.len() {
            if i != j && records[j].end <= records[i].start {
                depths[i] = depths[i].max(depths[j] + 1);
            }
        }
    }
    depths
}

/// What the record says about one quarantine.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// When the last ENI entered the isolation group; `None` when some ENI never did.
    pub contained_at: Option<Instant>,
    pub rounds_to_containment: Option<usize>,
    pub rounds_total: usize,
    pub requests: usize,
}

/// `isolation_group_ids`: the isolation groups; `interfaces`: every ENI that must end up there.
pub fn read(records: &[Recorded], isolation_group_ids: &[String], interfaces: &[String]) -> Reading {
    let depths = depths(records);
    let moves: Vec<(usize, &Recorded)> = records
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r.operation == "ModifyNetworkInterfaceAttribute"
                && !r.throttled
                && r.params.iter().any(|(k, v)| k.starts_with("SecurityGroupId") && isolation_group_ids.contains(v))
        })
        .collect();
    let isolated: BTreeSet<&str> =
        moves.iter().filter_map(|(_, r)| r.params.get("NetworkInterfaceId").map(String::as_str)).collect();
    let contained = !interfaces.is_empty() && interfaces.iter().all(|eni| isolated.contains(eni.as_str()));
    Reading {
        contained_at: if contained { moves.iter().map(|(_, r)| r.end).max() } else { None },
        rounds_to_containment: if contained { moves.iter().map(|(i, _)| depths[*i]).max() } else { None },
        rounds_total: depths.iter().copied().max().unwrap_or(0),
        requests: records.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::time::Duration;

    fn at(base: Instant, from_ms: u64, to_ms: u64, operation: &str, params: &[(&str, &str)]) -> Recorded {
        Recorded {
            operation: operation.into(),
            params: params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>(),
            start: base + Duration::from_millis(from_ms),
            end: base + Duration::from_millis(to_ms),
            throttled: false,
            ok: true,
        }
    }

    #[test]
    fn parallel_requests_share_a_round_trip_and_sequential_ones_add_up() {
        let t = Instant::now();
        let records = vec![
            at(t, 0, 20, "DescribeInstances", &[]),
            at(t, 1, 21, "DescribeNetworkInterfaces", &[]),
            at(t, 22, 42, "CreateTags", &[]),
            at(
                t,
                43,
                63,
                "ModifyNetworkInterfaceAttribute",
                &[("NetworkInterfaceId", "eni-1"), ("SecurityGroupId.1", "sg-u")],
            ),
            at(
                t,
                64,
                84,
                "ModifyNetworkInterfaceAttribute",
                &[("NetworkInterfaceId", "eni-1"), ("SecurityGroupId.1", "sg-i")],
            ),
            at(t, 22, 42, "DescribeTargetGroups", &[]),
            at(t, 43, 63, "DescribeTargetHealth", &[]),
            at(t, 64, 84, "DeregisterTargets", &[]),
            at(t, 85, 105, "StopInstances", &[]),
        ];
        let reading = read(&records, &["sg-i".into()], &["eni-1".into()]);
        assert_eq!(reading.rounds_to_containment, Some(4));
        assert_eq!(reading.rounds_total, 5);
        assert_eq!(reading.contained_at, Some(t + Duration::from_millis(84)));
        assert_eq!(reading.requests, 9);
    }

    #[test]
    fn an_interface_never_moved_means_not_contained() {
        let t = Instant::now();
        let records = vec![at(
            t,
            0,
            5,
            "ModifyNetworkInterfaceAttribute",
            &[("NetworkInterfaceId", "eni-1"), ("SecurityGroupId.1", "sg-i")],
        )];
        let reading = read(&records, &["sg-i".into()], &["eni-1".into(), "eni-2".into()]);
        assert_eq!((reading.contained_at, reading.rounds_to_containment), (None, None));
    }
}
