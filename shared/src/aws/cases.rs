//! The case ledger's DynamoDB calls: one item per case (key `case_id`), written only with
//! conditional updates, so concurrent deliveries agree on one item and one owner and a redelivery
//! appends to it.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_sdk_dynamodb::Client;

use crate::aws::{AwsError, AwsResultExt};

pub type Item = HashMap<String, AttributeValue>;

/// The attributes of a case written at every delivery (`if_not_exists` for those the first one
/// sets: created_at, owner, triggered_by, signal, function, resource).
#[derive(Debug, Clone, Default)]
pub struct CaseWrite {
    pub case_id: String,
    pub now: String,
    pub owner: String,
    pub triggered_by: String,
    pub function: String,
    pub resource: String,
    pub account: String,
    pub region: String,
    /// The signal, as JSON.
    pub signal: String,
    /// The new state; None keeps the current one (a plan written before acting).
    pub state: Option<String>,
    /// The entry appended: this delivery's plan or outcome, as JSON.
    pub entry: String,
}

/// What a write found.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    /// Appended; the owner is the delivery that first wrote the case.
    Appended { owner: String },
    /// The case was released (or is otherwise closed to writes): nothing written.
    Refused { state: String },
    /// The case holds as many entries as an item may: only the count of dropped ones grew.
    Full,
}

/// The UpdateItem of one case with the attributes every delivery writes (names `#owner`,
/// `#function`, `#resource`, `#region`, `#state`; values of [`CaseWrite`], the new entry and `:empty`).
fn case_update(dynamodb: &Client, table: &str, write: &CaseWrite) -> UpdateItemFluentBuilder {
    let s = |v: &str| AttributeValue::S(v.to_string());
    dynamodb
        .update_item()
        .table_name(table)
        .key("case_id", s(&write.case_id))
        .expression_attribute_names("#owner", "owner")
        .expression_attribute_names("#function", "function")
        .expression_attribute_names("#resource", "resource")
        .expression_attribute_names("#region", "region")
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":now", s(&write.now))
        .expression_attribute_values(":owner", s(&write.owner))
        .expression_attribute_values(":by", s(&write.triggered_by))
        .expression_attribute_values(":signal", s(&write.signal))
        .expression_attribute_values(":function", s(&write.function))
        .expression_attribute_values(":resource", s(&write.resource))
        .expression_attribute_values(":account", s(&write.account))
        .expression_attribute_values(":region", s(&write.region))
        .expression_attribute_values(":empty", AttributeValue::L(Vec::new()))
        .expression_attribute_values(":entry", AttributeValue::L(vec![s(&write.entry)]))
}

/// Appends one entry to the case (creating it on first write), unless the case is released.
pub async fn append(
    dynamodb: &Client,
    table: &str,
    write: &CaseWrite,
    max_entries: usize,
) -> Result<Written, AwsError> {
    let s = |v: &str| AttributeValue::S(v.to_string());
    let mut update = String::from(
        "SET created_at = if_not_exists(created_at, :now), #owner = if_not_exists(#owner, :owner), \
         triggered_by = if_not_exists(triggered_by, :by), signal_json = if_not_exists(signal_json, :signal), \
         #function = if_not_exists(#function, :function), #resource = if_not_exists(#resource, :resource), \
         account = :account, #region = :region, updated_at = :now, \
         entries = list_append(if_not_exists(entries, :empty), :entry)",
    );
    let mut request = case_update(dynamodb, table, write)
        .expression_attribute_values(":released", s("released"))
        .expression_attribute_values(":rejected", s("rejected"))
        .expression_attribute_values(":max", AttributeValue::N(max_entries.to_string()))
        .condition_expression(
            "(attribute_not_exists(#state) OR (#state <> :released AND #state <> :rejected)) \
             AND (attribute_not_exists(entries) OR size(entries) < :max)",
        )
        .return_values(ReturnValue::AllNew);
    match &write.state {
        Some(state) => {
            update.push_str(", #state = :state");
            request = request.expression_attribute_values(":state", s(state));
        }
        None => {
            update.push_str(", #state = if_not_exists(#state, :opened)");
            request = request.expression_attribute_values(":opened", s("open"));
        }
    }
    match request.update_expression(update).send().await {
        Ok(output) => {
            let owner = output.attributes().and_then(|a| text(a, "owner")).unwrap_or_default();
            Ok(Written::Appended { owner })
        }
        Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
            let current = get(dynamodb, table, &write.case_id).await?.unwrap_or_default();
            match text(&current, "state") {
                Some(state) if state == "released" || state == "rejected" => Ok(Written::Refused { state }),
                _ => {
                    count_dropped(dynamodb, table, &write.case_id).await?;
                    Ok(Written::Full)
                }
            }
        }
        Err(e) => Err(AwsError::from_sdk("UpdateItem", e)),
    }
}

async fn count_dropped(dynamodb: &Client, table: &str, case_id: &str) -> Result<(), AwsError> {
    dynamodb
        .update_item()
        .table_name(table)
        .key("case_id", AttributeValue::S(case_id.to_string()))
        .update_expression("ADD entries_dropped :one")
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .send()
        .await
        .aws("UpdateItem")?;
    Ok(())
}

/// Marks the case released, once: refused (false) when it is not in one of `from` states.
pub async fn release(
    dynamodb: &Client,
    table: &str,
    case_id: &str,
    from: &[&str],
    set: &[(&str, String)],
    entry: &str,
) -> Result<bool, AwsError> {
    transition(dynamodb, table, case_id, from, "released", set, entry).await
}

/// Moves the case to state `to`, once: refused (false) when it is not in one of `from` states.
/// Sets the attributes given and appends the entry.
pub async fn transition(
    dynamodb: &Client,
    table: &str,
    case_id: &str,
    from: &[&str],
    to: &str,
    set: &[(&str, String)],
    entry: &str,
) -> Result<bool, AwsError> {
    let s = |v: &str| AttributeValue::S(v.to_string());
    let mut request = dynamodb
        .update_item()
        .table_name(table)
        .key("case_id", s(case_id))
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":to", s(to))
        .expression_attribute_values(":entry", AttributeValue::L(vec![s(entry)]));
    let mut update = String::from("SET #state = :to, entries = list_append(entries, :entry)");
    for (i, (name, value)) in set.iter().enumerate() {
        update.push_str(&format!(", {name} = :v{i}"));
        request = request.expression_attribute_values(format!(":v{i}"), s(value));
    }
    let allowed: Vec<String> = (0..from.len()).map(|i| format!(":from{i}")).collect();
    for (i, state) in from.iter().enumerate() {
        request = request.expression_attribute_values(format!(":from{i}"), s(state));
    }
    let condition = format!("attribute_exists(case_id) AND #state IN ({})", allowed.join(", "));
    match request.update_expression(update).condition_expression(condition).send().await {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(false),
        Err(e) => Err(AwsError::from_sdk("UpdateItem", e)),
    }
}

/// What a case held for approval keeps besides its header: what an approval re-plans from.
#[derive(Debug, Clone, Default)]
pub struct Pending {
    /// The triggering event as received, bounded by the caller.
    pub trigger: String,
    /// The policy's explanation.
    pub because: String,
    /// The function that holds it (its invoked ARN): where an answer is sent.
    pub function_arn: String,
    /// The `approve_within` schedule's name and what its timeout does, when there is one.
    pub schedule: Option<(String, String)>,
}

/// What opening a pending case found.
#[derive(Debug, Clone, PartialEq)]
pub enum Opened {
    /// A new case, pending approval: this delivery notifies.
    New,
    /// This invocation opened it already (another resource of the same signal): appended.
    Joined,
    /// The case exists (a redelivery, or it was answered): nothing written.
    Exists { state: String },
}

/// Writes a new case as `pending_approval`, with its plan entry and what an approval needs, only
/// if there is no such case yet (or this invocation made it): a redelivery writes nothing.
pub async fn open_pending(
    dynamodb: &Client,
    table: &str,
    write: &CaseWrite,
    pending: &Pending,
) -> Result<Opened, AwsError> {
    let s = |v: &str| AttributeValue::S(v.to_string());
    let mut update = String::from(
        "SET created_at = if_not_exists(created_at, :now), #owner = :owner, triggered_by = :by, \
         signal_json = :signal, #function = :function, #resource = if_not_exists(#resource, :resource), \
         account = :account, #region = :region, updated_at = :now, #state = :pending, \
         trigger_json = :trigger, policy_because = :because, function_arn = :function_arn, \
         entries = list_append(if_not_exists(entries, :empty), :entry)",
    );
    let mut request = case_update(dynamodb, table, write)
        .expression_attribute_values(":pending", s("pending_approval"))
        .expression_attribute_values(":trigger", s(&pending.trigger))
        .expression_attribute_values(":because", s(&pending.because))
        .expression_attribute_values(":function_arn", s(&pending.function_arn))
        .condition_expression("attribute_not_exists(case_id) OR (#owner = :owner AND #state = :pending)")
        .return_values(ReturnValue::AllOld);
    if let Some((name, on_timeout)) = &pending.schedule {
        update.push_str(", schedule_name = :schedule, on_timeout = :timeout");
        request = request
            .expression_attribute_values(":schedule", s(name))
            .expression_attribute_values(":timeout", s(on_timeout));
    }
    match request.update_expression(update).send().await {
        Ok(output) if output.attributes().is_some_and(|a| !a.is_empty()) => Ok(Opened::Joined),
        Ok(_) => Ok(Opened::New),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
            let current = get(dynamodb, table, &write.case_id).await?.unwrap_or_default();
            Ok(Opened::Exists { state: text(&current, "state").unwrap_or_default() })
        }
        Err(e) => Err(AwsError::from_sdk("UpdateItem", e)),
    }
}

/// One case's item, read consistently (a release must see the last write).
pub async fn get(dynamodb: &Client, table: &str, case_id: &str) -> Result<Option<Item>, AwsError> {
    let output = dynamodb
        .get_item()
        .table_name(table)
        .key("case_id", AttributeValue::S(case_id.to_string()))
        .consistent_read(true)
        .send()
        .await
        .aws("GetItem")?;
    Ok(output.item)
}

/// Every case (all pages), for a responder's listing. A ledger holds cases, not events: a scan is
/// what `firebreak cases` needs.
pub async fn scan(dynamodb: &Client, table: &str) -> Result<Vec<Item>, AwsError> {
    let mut items = Vec::new();
    let mut pages = dynamodb.scan().table_name(table).into_paginator().send();
    while let Some(page) = pages.next().await {
        items.extend(page.aws("Scan")?.items.unwrap_or_default());
    }
    Ok(items)
}

pub fn text(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

pub fn texts(item: &Item, name: &str) -> Vec<String> {
    item.get(name)
        .and_then(|v| v.as_l().ok())
        .map(|l| l.iter().filter_map(|v| v.as_s().ok().cloned()).collect())
        .unwrap_or_default()
}
