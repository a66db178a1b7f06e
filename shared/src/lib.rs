//! Firebreak's remediation library.
//!
//! Every Lambda follows the same shape: parse the event into a typed finding ([`events`]), decide
//! what to do without touching AWS ([`plan`]), carry the plan out ([`quarantine`], backed by
//! [`ec2`] and [`fleet`]), and return what happened ([`report`]).

pub mod abuse;
pub mod accounts;
pub mod attempts;
pub mod aws;
pub mod case;
pub mod config;
pub mod deadline;
pub mod engine;
pub mod events;
pub mod exposure;
pub mod logging;
pub mod notify;
pub mod policy;
pub mod ports;
pub mod posture;
pub mod quarantine;
pub mod report;
pub mod respond;
pub mod revoke;
pub mod tags;

pub use aws::Clients;
pub use quarantine::QuarantineConfig;
pub use report::Report;
