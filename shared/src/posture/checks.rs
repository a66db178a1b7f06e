//! The hardening list: each check, its slug (step name, finding id part, GeneratorId suffix), and
//! which read it needs.

use std::fmt;

use serde::Serialize;

/// Every finding this function imports has a GeneratorId starting with this, then the check.
pub const GENERATOR_PREFIX: &str = "firebreak-audit-posture/";

/// Each item of the hardening list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    GuarddutyEnabled,
    MultiRegionTrailLogging,
    RootMfa,
    RootAccessKeys,
    ConsoleUserMfa,
    AccessKeyAge,
    AccessKeyUnused,
    SecurityGroupOpen,
    BillingAlarm,
    NetworkOutAlarm,
}

/// What is read for the checks: one read can serve several checks, and is made once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// ListDetectors, GetDetector.
    Detectors,
    /// DescribeTrails, GetTrailStatus.
    Trails,
    /// GetAccountSummary.
    AccountSummary,
    /// ListUsers, then per user GetLoginProfile, ListMFADevices, ListAccessKeys, GetAccessKeyLastUsed.
    Users,
    /// DescribeSecurityGroups, DescribeSecurityGroupRules.
    SecurityGroups,
    /// DescribeAlarms.
    Alarms,
}

impl Source {
    pub const ALL: [Source; 6] =
        [Self::Detectors, Self::Trails, Self::AccountSummary, Self::Users, Self::SecurityGroups, Self::Alarms];

    /// Its position in [`Source::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The AWS operation that starts the read, named when the read did not happen.
    pub fn operation(self) -> &'static str {
        match self {
            Self::Detectors => "ListDetectors",
            Self::Trails => "DescribeTrails",
            Self::AccountSummary => "GetAccountSummary",
            Self::Users => "ListUsers",
            Self::SecurityGroups => "DescribeSecurityGroups",
            Self::Alarms => "DescribeAlarms",
        }
    }
}

impl Check {
    pub const ALL: [Check; 10] = [
        Self::GuarddutyEnabled,
        Self::MultiRegionTrailLogging,
        Self::RootMfa,
        Self::RootAccessKeys,
        Self::ConsoleUserMfa,
        Self::AccessKeyAge,
        Self::AccessKeyUnused,
        Self::SecurityGroupOpen,
        Self::BillingAlarm,
        Self::NetworkOutAlarm,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Self::GuarddutyEnabled => "guardduty-enabled",
            Self::MultiRegionTrailLogging => "multi-region-trail-logging",
            Self::RootMfa => "root-mfa",
            Self::RootAccessKeys => "root-access-keys",
            Self::ConsoleUserMfa => "console-user-mfa",
            Self::AccessKeyAge => "access-key-age",
            Self::AccessKeyUnused => "access-key-unused",
            Self::SecurityGroupOpen => "security-group-open",
            Self::BillingAlarm => "billing-alarm",
            Self::NetworkOutAlarm => "network-out-alarm",
        }
    }

    pub fn source(self) -> Source {
        match self {
            Self::GuarddutyEnabled => Source::Detectors,
            Self::MultiRegionTrailLogging => Source::Trails,
            Self::RootMfa | Self::RootAccessKeys => Source::AccountSummary,
            Self::ConsoleUserMfa | Self::AccessKeyAge | Self::AccessKeyUnused => Source::Users,
            Self::SecurityGroupOpen => Source::SecurityGroups,
            Self::BillingAlarm | Self::NetworkOutAlarm => Source::Alarms,
        }
    }

    pub fn generator_id(self) -> String {
        format!("{GENERATOR_PREFIX}{}", self.slug())
    }

    pub fn from_generator_id(generator_id: &str) -> Option<Self> {
        let slug = generator_id.strip_prefix(GENERATOR_PREFIX)?;
        Self::ALL.into_iter().find(|c| c.slug() == slug)
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.slug())
    }
}

/// The same gap gets the same id on every run: account, region, check and resource.
pub fn finding_id(account_id: &str, region: &str, check: Check, resource_id: &str) -> String {
    format!("{}{}/{resource_id}", finding_id_prefix(account_id, region), check.slug())
}

/// What every finding id of this account and region starts with: only those are ours to resolve.
pub fn finding_id_prefix(account_id: &str, region: &str) -> String {
    format!("firebreak/audit-posture/{account_id}/{region}/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_generator_ids_and_sources_round_trip() {
        for check in Check::ALL {
            assert_eq!(Check::from_generator_id(&check.generator_id()), Some(check));
            assert!(Source::ALL.contains(&check.source()));
        }
        assert_eq!(Check::from_generator_id("firebreak-audit-posture/unknown"), None);
        assert_eq!(Check::from_generator_id("other/root-mfa"), None);
        for (n, source) in Source::ALL.into_iter().enumerate() {
            assert_eq!(source.index(), n);
        }
        assert_eq!(
            finding_id("123456789012", "us-east-1", Check::RootMfa, "AWS::::Account:123456789012"),
            "firebreak/audit-posture/123456789012/us-east-1/root-mfa/AWS::::Account:123456789012"
        );
    }
}
