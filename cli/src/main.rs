//! `firebreak`: Firebreak for the responder at a terminal. Lists and shows the cases of the
//! ledger, quarantines an instance, revokes credentials, releases a case, and shows what a
//! function would do with an event, all through the same library the Lambda functions use, with
//! the caller's own AWS configuration. See docs/cli.md.

mod act;
mod approve;
mod aws;
mod cases;
mod confirm;
mod error;
mod plan;
mod policy;
mod progress;
mod release;
mod render;
mod replay;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use act::{Mode, Who};
use aws::Session;
use error::{CliError, Result};

#[derive(Debug, Parser)]
#[command(
    name = "firebreak",
    version,
    about = "Contain compromised AWS workloads, and undo it: Firebreak's cases at a terminal."
)]
struct Cli {
    /// The case ledger's DynamoDB table [default: $FIREBREAK_CASES_TABLE]
    #[arg(long, global = true, value_name = "NAME")]
    table: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the cases of the ledger, newest first.
    Cases {
        /// Only cases in this state (contained, released, failed, ...).
        #[arg(long, value_parser = cases::parse_state)]
        state: Option<String>,
        /// Only cases about this account.
        #[arg(long, value_parser = account_id)]
        account: Option<String>,
        /// The cases as a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Show one case: its trigger, every entry and step, what it recorded, its release.
    Show {
        #[arg(value_name = "CASE", value_parser = cases::parse_case_id)]
        case_id: String,
        /// The case as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Quarantine an instance: plan, ask, act, and record the case.
    Quarantine {
        #[arg(value_name = "INSTANCE_ID", value_parser = instance_id)]
        instance_id: String,
        /// The instance's account [default: yours]; another account is entered through the member role.
        #[arg(long, value_parser = account_id)]
        account: Option<String>,
        /// The instance's region [default: your configuration's].
        #[arg(long)]
        region: Option<String>,
        #[command(flatten)]
        mode: ModeArgs,
    },
    /// Revoke credentials: disable access keys and revoke sessions; plan, ask, act, record.
    Revoke {
        #[command(flatten)]
        who: WhoArgs,
        /// The principal's account [default: yours].
        #[arg(long, value_parser = account_id)]
        account: Option<String>,
        #[command(flatten)]
        mode: ModeArgs,
    },
    /// Release a case: put back what it changed, from what it recorded.
    Release {
        #[arg(value_name = "CASE", value_parser = cases::parse_case_id)]
        case_id: String,
        /// Also re-activate the keys and remove Firebreak's deny policies (off: credentials stay revoked).
        #[arg(long)]
        credentials: bool,
        /// Why (recorded in the case).
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        #[command(flatten)]
        mode: ModeArgs,
    },
    /// Re-send the failure queue's events to their functions; a message is deleted once its event succeeded.
    Replay {
        /// The failure queue's URL [default: $FIREBREAK_FAILED_EVENTS_QUEUE_URL].
        #[arg(long, value_name = "URL")]
        queue: Option<String>,
        /// At most this many messages.
        #[arg(long, default_value_t = 100)]
        max: usize,
        /// What was done, as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        mode: ModeArgs,
    },
    /// Approve a case the response policy holds: its function re-reads, re-plans and acts.
    Approve {
        #[arg(value_name = "CASE", value_parser = cases::parse_case_id)]
        case_id: String,
        /// The function to send the answer to [default: the ARN the case records].
        #[arg(long, value_name = "NAME_OR_ARN")]
        function: Option<String>,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
    /// Reject a case the response policy holds: it is closed, nothing is changed.
    Reject {
        #[arg(value_name = "CASE", value_parser = cases::parse_case_id)]
        case_id: String,
        /// Why (recorded in the case).
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        /// The function to send the answer to [default: the ARN the case records].
        #[arg(long, value_name = "NAME_OR_ARN")]
        function: Option<String>,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
    /// What the function an event goes to would do in this account now (read-only).
    Plan {
        /// An EventBridge event, as the function receives it.
        #[arg(value_name = "EVENT.json")]
        event: PathBuf,
    },
    /// The response policy, offline (no AWS call).
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Validate a policy file, then show the rule and mode each sample event would get.
    Check {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The folder of sample events, one folder per function.
        #[arg(long, value_name = "DIR", default_value = "events")]
        events: PathBuf,
    },
}

#[derive(Debug, Args)]
struct ModeArgs {
    /// Plan only: show the steps, change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Act without asking (needed when there is no terminal to ask on).
    #[arg(long, short = 'y')]
    yes: bool,
}

impl From<ModeArgs> for Mode {
    fn from(args: ModeArgs) -> Self {
        Mode { dry_run: args.dry_run, yes: args.yes }
    }
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct WhoArgs {
    /// An access key id: it and its user's sessions are revoked.
    #[arg(long, value_name = "ID", value_parser = access_key_id)]
    access_key: Option<String>,
    /// An IAM user: every active key disabled, sessions revoked.
    #[arg(long, value_name = "NAME", value_parser = iam_name)]
    user: Option<String>,
    /// An IAM role: its active sessions revoked.
    #[arg(long, value_name = "NAME", value_parser = iam_name)]
    role: Option<String>,
}

impl WhoArgs {
    fn who(self) -> Result<Who> {
        match (self.access_key, self.user, self.role) {
            (Some(key), None, None) => Ok(Who::AccessKey(key)),
            (None, Some(user), None) => Ok(Who::User(user)),
            (None, None, Some(role)) => Ok(Who::Role(role)),
            _ => Err(CliError::invalid("name exactly one of --access-key, --user, --role")),
        }
    }
}

fn account_id(text: &str) -> Result<String, String> {
    firebreak::events::validate_account_id("account", text).map(|()| text.to_string()).map_err(|e| e.to_string())
}

fn instance_id(text: &str) -> Result<String, String> {
    firebreak::events::validate_instance_id(text).map(|()| text.to_string()).map_err(|e| e.to_string())
}

fn access_key_id(text: &str) -> Result<String, String> {
    if firebreak::revoke::is_access_key_id(text) {
        Ok(text.to_string())
    } else {
        Err("an access key id is AKIA or ASIA followed by uppercase letters and digits".into())
    }
}

/// IAM user and role names, as IAM takes them: caught here rather than as an AWS error.
fn iam_name(text: &str) -> Result<String, String> {
    if (1..=64).contains(&text.len()) && text.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)) {
        Ok(text.to_string())
    } else {
        Err("an IAM name is 1-64 letters, digits or +=,.@_-".into())
    }
}

async fn run(cli: Cli) -> Result<()> {
    let table = cli.table;
    let session = || Session::load(table.clone());
    match cli.command {
        // The functions' own configuration and clients: no session of ours.
        Command::Plan { event } => plan::plan(&event).await,
        Command::Policy { command: PolicyCommand::Check { file, events } } => policy::check(&file, &events),
        Command::Cases { state, account, json } => {
            cases::list(&session().await?, state.as_deref(), account.as_deref(), json).await
        }
        Command::Show { case_id, json } => cases::show(&session().await?, &case_id, json).await,
        Command::Quarantine { instance_id, account, region, mode } => {
            act::quarantine(&session().await?, &instance_id, account, region.as_deref(), mode.into()).await
        }
        Command::Revoke { who, account, mode } => {
            act::revoke(&session().await?, who.who()?, account, mode.into()).await
        }
        Command::Approve { case_id, function, yes } => {
            approve::answer(&session().await?, &case_id, approve::Verdict::Approve, yes, function).await
        }
        Command::Reject { case_id, reason, function, yes } => {
            approve::answer(&session().await?, &case_id, approve::Verdict::Reject { reason }, yes, function).await
        }
        Command::Replay { queue, max, json, mode } => replay::replay(queue, max, mode.into(), json).await,
        Command::Release { case_id, credentials, reason, mode } => {
            release::release(&session().await?, &case_id, credentials, reason, mode.into()).await
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    progress::init();
    // Large stacks: a debug build deserialising Security Hub findings needs more than 2 MiB.
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().thread_stack_size(16 << 20).build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("firebreak: cannot start: {e}");
            return ExitCode::from(error::FAILED);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("firebreak: {e}");
            e.exit_code()
        }
    }
}
