//! Each step printed for a human as it finishes. The engine logs one event per finished step
//! (`engine::report::log_step`); this layer turns those events into lines on stdout, so the
//! command shows progress without the library knowing about terminals.

use std::fmt::{self, Write as _};
use std::io::Write as _;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// The fields of one step event.
#[derive(Debug, Default)]
struct StepFields {
    message: String,
    step: String,
    resource: String,
    outcome: String,
    detail: String,
    retries: String,
}

impl Visit for StepFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "step" => self.step = value.to_string(),
            "outcome" => self.outcome = value.to_string(),
            _ => self.record_debug(field, &value),
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let target = match field.name() {
            "message" => &mut self.message,
            "resource" => &mut self.resource,
            "detail" => &mut self.detail,
            "retries" => &mut self.retries,
            _ => return,
        };
        let _ = write!(target, "{value:?}");
    }
}

/// One line per finished step: its outcome, name, resource and detail.
pub fn step_line(outcome: &str, step: &str, resource: &str, detail: &str) -> String {
    format!("  {outcome:<8} {step} {resource}: {detail}")
}

struct StepPrinter;

impl<S: Subscriber> Layer<S> for StepPrinter {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = StepFields::default();
        event.record(&mut fields);
        if fields.message != "step" || fields.step.is_empty() {
            return;
        }
        let mut line = step_line(&fields.outcome, &fields.step, &fields.resource, &fields.detail);
        // `retries` is logged with `?`: an empty list prints as `[]`.
        if fields.retries != "[]" && !fields.retries.is_empty() {
            let _ = write!(line, " (retried: {})", fields.retries);
        }
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

/// Installs the printer for Firebreak's own info events only (the SDK's chatter is not shown).
pub fn init() {
    let only_firebreak = filter_fn(|meta| meta.target().starts_with("firebreak") && *meta.level() <= Level::INFO);
    let subscriber = tracing_subscriber::registry().with(StepPrinter.with_filter(only_firebreak));
    let _ = tracing::subscriber::set_global_default(subscriber);
}
