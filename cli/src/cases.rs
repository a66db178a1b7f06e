//! `firebreak cases` and `firebreak show`: the ledger, read.

use firebreak::cases::{Case, CaseState};

use crate::aws::Session;
use crate::error::{CliError, Result};
use crate::render;

/// Case ids are `fb-` and 16 lowercase hex digits (`case::case_id_for`); anything else is a typo
/// caught before any AWS call.
pub fn parse_case_id(text: &str) -> Result<String, String> {
    let hex = text.strip_prefix("fb-").unwrap_or_default();
    if hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        Ok(text.to_string())
    } else {
        Err("a case id is fb- followed by 16 lowercase hex digits, as `firebreak cases` lists them".into())
    }
}

pub fn parse_state(text: &str) -> Result<String, String> {
    match CaseState::parse(text) {
        Some(state) => Ok(state.as_str().to_string()),
        None => Err(
            "a state is one of open, contained, contained_with_errors, failed, skipped, planned, completed, completed_with_errors, pending_approval, observed, approved, rejected, released"
                .into(),
        ),
    }
}

pub async fn list(session: &Session, state: Option<&str>, account: Option<&str>, json: bool) -> Result<()> {
    let mut cases: Vec<Case> = session
        .case_items()
        .await?
        .iter()
        .filter_map(Case::from_item)
        .filter(|c| state.is_none_or(|s| c.state == s) && account.is_none_or(|a| c.account == a))
        .collect();
    // Timestamps are RFC 3339 UTC: their text order is their time order. Newest first.
    cases.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then_with(|| a.case_id.cmp(&b.case_id)));
    if json {
        let values: Vec<serde_json::Value> = cases.iter().map(render::case_json).collect();
        println!("{}", serde_json::to_string_pretty(&values).map_err(CliError::failed)?);
    } else if cases.is_empty() {
        eprintln!("no cases in {}", session.table()?);
    } else {
        print!("{}", render::case_lines(&cases));
    }
    Ok(())
}

pub async fn read(session: &Session, case_id: &str) -> Result<Case> {
    let item = session.case_item(case_id).await?;
    Case::from_item(&item).ok_or_else(|| CliError::failed(format!("case {case_id} is not a Firebreak case item")))
}

pub async fn show(session: &Session, case_id: &str, json: bool) -> Result<()> {
    let case = read(session, case_id).await?;
    let commands = evidence_commands(session, &case).await;
    if json {
        let mut value = render::case_json(&case);
        if let Some(object) = value.as_object_mut().filter(|_| !commands.is_empty()) {
            let commands = commands.iter().map(|(instance, command, status)| {
                serde_json::json!({"instance_id": instance, "command_id": command, "status": status})
            });
            object.insert("evidence_commands".into(), commands.collect());
        }
        println!("{}", serde_json::to_string_pretty(&value).map_err(CliError::failed)?);
    } else {
        print!("{}", render::case_detail(&case));
        for (instance, command, status) in &commands {
            println!("evidence capture on {instance}: command {command} {status}");
        }
    }
    Ok(())
}

/// The status of each evidence capture the case sent (GetCommandInvocation in the case's account),
/// read only when it sent one.
async fn evidence_commands(session: &Session, case: &Case) -> Vec<(String, String, String)> {
    let sent = case.recorded().values().any(|r| r.contains_key(firebreak::evidence::EVIDENCE_COMMAND_TAG));
    if !sent {
        return Vec::new();
    }
    match session.accounts.clients_for(&case.account, &case.region, &case.case_id).await {
        Ok(clients) => firebreak::evidence::status::command_statuses(&clients.clients, case).await,
        Err(error) => vec![("-".into(), "-".into(), format!("not readable: {error}"))],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_ids_are_checked() {
        assert!(parse_case_id("fb-0123456789abcdef").is_ok());
        assert!(parse_case_id(&firebreak::case::case_id_for("x")).is_ok());
        for bad in ["fb-0123456789ABCDEF", "fb-0123", "0123456789abcdef", "fb-0123456789abcdefg", "fb-../../etc"] {
            assert!(parse_case_id(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_state("released").as_deref(), Ok("released"));
        assert!(parse_state("contained-ish").is_err());
    }
}
