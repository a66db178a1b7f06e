//! Firebreak's response library.
//!
//! [`engine`] is the machinery every function shares: a capability's plan of steps, the one
//! runner, the report, common configuration, triage and Lambda errors. Each capability is a folder
//! that supplies only its own actions, its pure `decide` and how each action is carried out
//! ([`quarantine`], [`revoke`], [`ports`], [`posture`]); [`respond`] routes signals to the
//! quarantine and follows up. [`events`] parses and validates what EventBridge delivers (no AWS
//! call); [`aws`] wraps every SDK call; [`accounts`] hands out clients per account and region.

pub mod accounts;
pub mod approval;
pub mod attempts;
pub mod aws;
pub mod bucket;
pub mod canary;
pub mod case;
pub mod cases;
pub mod contain_lambda;
pub mod deadline;
pub mod disk_evidence;
pub mod engine;
pub mod events;
pub mod evidence;
pub mod exposure;
pub mod logging;
pub mod notify;
pub mod policy;
pub mod policy_samples;
pub mod ports;
pub mod posture;
pub mod quarantine;
pub mod release;
pub mod replay;
pub mod respond;
pub mod response_policy;
pub mod revoke;
pub mod tags;
pub mod task;

pub use aws::Clients;
pub use engine::Report;
pub use quarantine::QuarantineConfig;
