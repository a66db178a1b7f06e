//! Steps and plans: what a capability decides to do, as plain values that print, compare and
//! serialise, before anything is done.

use std::fmt;

use serde::Serialize;

/// A capability's phases. Phases of one stage run side by side; stages run in order.
pub trait Phase: Copy + Ord + fmt::Debug + Serialize {
    fn stage(self) -> u8;
}

/// Another step that must have succeeded (done, or nothing left to do) before this one runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    pub step: &'static str,
    /// What the report says when it had not.
    pub otherwise: &'static str,
}

/// One change to make. Every action is idempotent: running it again after a crash or a
/// redelivery finds it done and says so.
pub trait Action: fmt::Display + Serialize {
    type Phase: Phase;
    /// Whether this capability contains a threat (outcomes `contained…`) or only reports and
    /// tidies (outcomes `completed…`).
    const CONTAINS: bool = true;

    /// The step's name in reports and logs (`isolate_network_interface`).
    fn name(&self) -> &'static str;
    fn phase(&self) -> Self::Phase;
    /// The resource the action changes.
    fn resource(&self) -> String;
    /// A failure of this action means the threat is not contained: the outcome is `failed`.
    fn is_containment(&self) -> bool;
    fn requires(&self) -> Option<Requirement> {
        None
    }
    /// The action runs in a dry run too, because it carries out a dry run of its own (a nested
    /// plan that reads and plans but changes nothing).
    fn plans_itself(&self) -> bool {
        false
    }
}

/// An action in a plan, or the reason it has nothing to do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Planned<A> {
    #[serde(flatten)]
    pub action: A,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip: Option<String>,
}

impl<A> Planned<A> {
    pub fn act(action: A) -> Self {
        Self { action, skip: None }
    }

    pub fn skip(action: A, why: impl Into<String>) -> Self {
        Self { action, skip: Some(why.into()) }
    }

    /// The same step with its action wrapped (a capability reusing another's steps).
    pub fn map<B>(self, wrap: impl FnOnce(A) -> B) -> Planned<B> {
        Planned { action: wrap(self.action), skip: self.skip }
    }

    /// Skipped with `why` when `skip` holds.
    pub fn unless(action: A, skip: bool, why: impl FnOnce() -> String) -> Self {
        Self { action, skip: skip.then(why) }
    }
}

/// The ordered steps of one case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan<A> {
    /// What the plan does, in a few words (`quarantine i-0abc`).
    pub title: String,
    pub case_id: String,
    pub steps: Vec<Planned<A>>,
}

impl<A: Action> Plan<A> {
    pub fn step(&self, name: &str) -> Option<&Planned<A>> {
        self.steps.iter().find(|s| s.action.name() == name)
    }
}

impl<A: Action> fmt::Display for Plan<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} (case {})", self.title, self.case_id)?;
        for (n, step) in self.steps.iter().enumerate() {
            let phase = format!("{:?}", step.action.phase()).to_lowercase();
            match &step.skip {
                None => writeln!(f, "  {:>2}. [{phase}] {}", n + 1, step.action)?,
                Some(why) => writeln!(f, "  {:>2}. [{phase}] skip: {} — {why}", n + 1, step.action.name())?,
            }
        }
        Ok(())
    }
}

/// What a capability decided: leave it (and why), or act on a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision<A, S> {
    Skip(S),
    Act(Plan<A>),
}
