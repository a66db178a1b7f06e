//! Firebreak's statement in a bucket policy (pure): a deny of `s3:*` to every principal but the
//! break-glass roles and Firebreak's own, merged into the policy the bucket has (its statements
//! kept, so the policy itself keeps the record of what it was), and taken out again on release.

use serde_json::{json, Map, Value};
use thiserror::Error;

use crate::revoke::PrincipalRef;

/// The `Sid` of Firebreak's statement: how a delivery finds it already there, and a release finds
/// what to take out.
pub const STATEMENT_SID: &str = "FirebreakContainment";

#[derive(Debug, Error, PartialEq)]
#[error("the bucket policy of {bucket} is not a policy Firebreak can merge into: {why}")]
pub struct PolicyError {
    pub bucket: String,
    pub why: String,
}

/// The ARN patterns of a role, for `aws:PrincipalArn`: the ARN as given, or for Firebreak's own
/// roles (whose path an assumed-role ARN does not show) the role at any path.
pub fn role_patterns(partition: &str, account_id: &str, role_name: &str) -> [String; 2] {
    [
        format!("arn:{partition}:iam::{account_id}:role/{role_name}"),
        format!("arn:{partition}:iam::{account_id}:role/*/{role_name}"),
    ]
}

/// The role behind Firebreak's own identity (an assumed-role or role ARN), as patterns.
pub fn own_role_patterns(identity: &str) -> Vec<String> {
    let partition = identity.split(':').nth(1).unwrap_or("aws");
    match PrincipalRef::parse(identity) {
        Some(PrincipalRef { account_id: Some(account), name, .. })
            if identity.contains(":assumed-role/") || identity.contains(":role/") =>
        {
            role_patterns(partition, &account, &name).to_vec()
        }
        _ => Vec::new(),
    }
}

/// The deny statement for one bucket. Requests without a principal ARN (anonymous) are denied
/// too: a negated condition operator matches when its key is absent.
pub fn containment_statement(bucket_arn: &str, exempt_principal_arns: &[String]) -> Value {
    json!({
        "Sid": STATEMENT_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, format!("{bucket_arn}/*")],
        "Condition": {"ArnNotLike": {"aws:PrincipalArn": exempt_principal_arns}},
    })
}

fn parse(bucket: &str, policy: &str) -> Result<(Map<String, Value>, Vec<Value>), PolicyError> {
    let error = |why: &str| PolicyError { bucket: bucket.to_string(), why: why.to_string() };
    let Value::Object(mut document) = serde_json::from_str::<Value>(policy).map_err(|e| error(&e.to_string()))? else {
        return Err(error("not a JSON object"));
    };
    let statements = match document.remove("Statement") {
        Some(Value::Array(statements)) => statements,
        Some(one @ Value::Object(_)) => vec![one],
        None => Vec::new(),
        Some(_) => return Err(error("Statement is neither a statement nor a list of them")),
    };
    Ok((document, statements))
}

fn render(mut document: Map<String, Value>, statements: Vec<Value>) -> String {
    document.entry("Version").or_insert_with(|| json!("2012-10-17"));
    document.insert("Statement".into(), Value::Array(statements));
    Value::Object(document).to_string()
}

fn is_ours(statement: &Value) -> bool {
    statement.get("Sid").and_then(Value::as_str) == Some(STATEMENT_SID)
}

/// What merging Firebreak's statement into a policy gives.
#[derive(Debug, Clone, PartialEq)]
pub enum Merged {
    /// The statement is there already, as it would be written.
    AlreadyThere,
    /// The policy to put: every statement it had, and Firebreak's (replacing an older one of
    /// Firebreak's, for instance after the break-glass roles changed).
    Policy(String),
}

pub fn merge(bucket: &str, current: Option<&str>, statement: &Value) -> Result<Merged, PolicyError> {
    let (document, mut statements) = match current {
        Some(policy) => parse(bucket, policy)?,
        None => (Map::new(), Vec::new()),
    };
    match statements.iter().position(is_ours) {
        Some(at) if statements[at] == *statement => return Ok(Merged::AlreadyThere),
        Some(at) => statements[at] = statement.clone(),
        None => statements.push(statement.clone()),
    }
    Ok(Merged::Policy(render(document, statements)))
}

/// The policy without Firebreak's statement: `None` when it has none; `Some(None)` when nothing
/// else is left (the bucket had no policy: delete it); `Some(Some(policy))` otherwise.
pub fn without_ours(bucket: &str, current: &str) -> Result<Option<Option<String>>, PolicyError> {
    let (document, mut statements) = parse(bucket, current)?;
    let before = statements.len();
    statements.retain(|s| !is_ours(s));
    if statements.len() == before {
        return Ok(None);
    }
    Ok(Some((!statements.is_empty()).then(|| render(document, statements))))
}

/// Whether two policies say the same (same statements, same other keys), whatever the layout.
pub fn same_policy(bucket: &str, a: &str, b: &str) -> bool {
    match (parse(bucket, a), parse(bucket, b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXISTING: &str = r#"{"Version":"2012-10-17","Id":"exports","Statement":{"Sid":"ReadForPartner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::exports/*"}}"#;

    fn ours() -> Value {
        containment_statement("arn:aws:s3:::exports", &["arn:aws:iam::111122223333:role/Responder".to_string()])
    }

    #[test]
    fn merging_keeps_every_statement_and_is_idempotent() {
        let Merged::Policy(merged) = merge("exports", Some(EXISTING), &ours()).unwrap() else { panic!() };
        let value: Value = serde_json::from_str(&merged).unwrap();
        assert_eq!(value["Id"], "exports");
        assert_eq!(value["Statement"].as_array().unwrap().len(), 2);
        assert_eq!(value["Statement"][0]["Sid"], "ReadForPartner");
        assert_eq!(merge("exports", Some(&merged), &ours()).unwrap(), Merged::AlreadyThere);
        let other = containment_statement("arn:aws:s3:::exports", &[]);
        let Merged::Policy(replaced) = merge("exports", Some(&merged), &other).unwrap() else { panic!() };
        assert_eq!(serde_json::from_str::<Value>(&replaced).unwrap()["Statement"].as_array().unwrap().len(), 2);
        assert!(merge("exports", Some("[1]"), &ours()).is_err());
    }

    #[test]
    fn taking_ours_out_gives_the_policy_back() {
        let Merged::Policy(merged) = merge("exports", Some(EXISTING), &ours()).unwrap() else { panic!() };
        let back = without_ours("exports", &merged).unwrap().unwrap().unwrap();
        assert!(same_policy("exports", &back, EXISTING));
        assert_eq!(without_ours("exports", EXISTING).unwrap(), None, "nothing of ours to take out");
        let Merged::Policy(alone) = merge("exports", None, &ours()).unwrap() else { panic!() };
        assert_eq!(without_ours("exports", &alone).unwrap(), Some(None), "no policy before: delete it");
    }

    #[test]
    fn own_identity_becomes_role_patterns() {
        let patterns = own_role_patterns("arn:aws:sts::111122223333:assumed-role/firebreak-contain-bucket/fn");
        assert_eq!(
            patterns,
            vec![
                "arn:aws:iam::111122223333:role/firebreak-contain-bucket".to_string(),
                "arn:aws:iam::111122223333:role/*/firebreak-contain-bucket".to_string()
            ]
        );
        assert!(own_role_patterns("arn:aws:iam::111122223333:user/alice").is_empty());
    }
}
