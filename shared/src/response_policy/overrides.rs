//! A rule's `overrides` applied to a capability's settings: one trait, one small impl per
//! settings type (quarantine, quarantine-task, revoke), so that every plan is made with the
//! settings its signal's rule gives and nothing else changes.

use super::Overrides;

/// Settings a rule's `overrides` may change.
pub trait Overridable: Clone {
    /// Applies the overrides that concern these settings; what changed, in words
    /// (`stop_instance false`), empty when nothing did.
    fn override_with(&mut self, overrides: &Overrides) -> Vec<String>;
}

/// Sets one setting from its override; records the change when there is one.
pub fn set(setting: &mut bool, value: Option<bool>, name: &str, changed: &mut Vec<String>) {
    if let Some(value) = value.filter(|v| v != setting) {
        *setting = value;
        changed.push(format!("{name} {value}"));
    }
}
