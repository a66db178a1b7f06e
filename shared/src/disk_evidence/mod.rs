//! Disk evidence that outlives the account: every EBS volume kept when the instance terminates
//! (recorded, put back by a release), the case's snapshots copied re-encrypted with the forensic
//! KMS key and shared with the forensic account only, and a GuardDuty Malware Protection
//! on-demand scan; snapshots still pending are copied by a scheduled follow-up. These are quarantine actions ([`crate::quarantine::Action`]): planned here
//! ([`plan::steps`]), carried out here ([`execute`]), run by the engine with the rest.

pub mod config;
pub mod execute;
pub mod follow_up;
pub mod plan;

pub use config::{DiskEvidenceConfig, ForensicTarget};
pub use follow_up::{EvidenceFollowUp, FollowUpSchedule};
