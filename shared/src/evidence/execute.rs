//! How the evidence steps of a quarantine are carried out. Each records on the instance before it
//! changes anything, and finds an earlier delivery's work instead of doing it twice.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{EVIDENCE_COMMAND_TAG, FORENSIC_PROFILE_TAG};
use crate::aws::forensics::{self, profile_name, Written};
use crate::aws::isolation::IsolationGroupIds;
use crate::aws::ssm::{self, CommandRequest};
use crate::aws::{ec2, AwsError, Clients};
use crate::engine::Acted;
use crate::quarantine::Action;
use crate::tags;

/// The services an SSM agent needs to be reachable, by the last part of their endpoint name.
pub const SSM_SERVICES: [&str; 3] = ["ssm", "ssmmessages", "ec2messages"];

/// Carries out one of the evidence actions (any other is refused).
pub async fn run_evidence_step(
    clients: &Clients,
    group_ids: &Mutex<BTreeMap<String, IsolationGroupIds>>,
    action: &Action,
) -> Result<Acted, AwsError> {
    match action {
        Action::ReplaceInstanceProfile { instance_id, original_arn, forensic_profile } => {
            replace_with_forensic_profile(&clients.ec2, instance_id, original_arn.as_deref(), forensic_profile).await
        }
        Action::AllowSsmEndpoints { vpc_id } => {
            let group = group_ids.lock().ok().and_then(|known| known.get(vpc_id).map(|g| g.isolation.clone()));
            allow_ssm_endpoint_egress(&clients.ec2, vpc_id, group).await
        }
        Action::CaptureVolatileState { instance_id, document, bucket, prefix, comment } => {
            let request = CommandRequest {
                instance_id,
                document,
                comment,
                parameters: vec![("Bucket", bucket.clone()), ("Prefix", prefix.clone())],
                output_bucket: bucket,
                output_prefix: &format!("{prefix}run-command"),
            };
            send_capture_command(clients, &request).await
        }
        Action::SaveInstanceEvidence { instance_id, bucket, prefix } => {
            save_instance_evidence(clients, instance_id, bucket, prefix).await
        }
        other => Err(AwsError {
            action: "SendCommand",
            code: "NotAnEvidenceStep".into(),
            message: format!("not an evidence step: {other}"),
        }),
    }
}

async fn replace_with_forensic_profile(
    ec2_client: &aws_sdk_ec2::Client,
    instance_id: &str,
    original_arn: Option<&str>,
    forensic: &str,
) -> Result<Acted, AwsError> {
    let mut record = vec![(FORENSIC_PROFILE_TAG.to_string(), forensic.to_string())];
    record.extend(original_arn.map(|arn| (tags::INSTANCE_PROFILE.to_string(), arn.to_string())));
    let (recorded, association) = tokio::join!(
        ec2::create_tags(ec2_client, instance_id, &record),
        ec2::instance_profile_association(ec2_client, instance_id)
    );
    recorded?;
    let (changed, detail) = match association? {
        Some(now) if profile_name(&now.profile_arn) == forensic => {
            return Ok(Acted::already_done(format!("the forensic profile {forensic} is attached already"))
                .recording_on(instance_id, record));
        }
        Some(now) => (
            forensics::replace_instance_profile(ec2_client, &now.association_id, forensic).await,
            format!("{} replaced by the forensic profile {forensic}", now.profile_arn),
        ),
        None => (
            forensics::associate_instance_profile_named(ec2_client, instance_id, forensic).await,
            format!("the forensic profile {forensic} associated (the instance had none)"),
        ),
    };
    if let Err(error) = changed {
        // A retry after a lost answer finds the old association gone: done, if the forensic one is there.
        let now = ec2::instance_profile_association(ec2_client, instance_id).await?;
        if now.is_none_or(|a| profile_name(&a.profile_arn) != forensic) {
            return Err(error);
        }
    }
    Ok(Acted::done(format!("{detail}; credentials already issued stay valid until they expire"))
        .recording_on(instance_id, record))
}

async fn allow_ssm_endpoint_egress(
    ec2_client: &aws_sdk_ec2::Client,
    vpc_id: &str,
    group: Option<String>,
) -> Result<Acted, AwsError> {
    let group = group.ok_or_else(|| AwsError {
        action: "AuthorizeSecurityGroupEgress",
        code: "NoIsolationGroup".into(),
        message: format!("no isolation group is available in {vpc_id}"),
    })?;
    let endpoints = forensics::interface_endpoints(ec2_client, vpc_id).await?;
    let service = |e: &forensics::InterfaceEndpoint| e.service_name.rsplit('.').next().unwrap_or_default().to_string();
    let missing: Vec<&str> = SSM_SERVICES.into_iter().filter(|s| !endpoints.iter().any(|e| service(e) == *s)).collect();
    if !missing.is_empty() {
        return Ok(Acted::already_done(format!(
            "not reachable through SSM: {vpc_id} has no interface endpoint for {}, and the isolation group allows \
             no egress to the internet; no rule added",
            missing.join(", ")
        )));
    }
    let wanted: Vec<&forensics::InterfaceEndpoint> =
        endpoints.iter().filter(|e| SSM_SERVICES.contains(&service(e).as_str()) || service(e) == "s3").collect();
    let mut groups: Vec<String> = wanted.iter().flat_map(|e| e.group_ids.iter().cloned()).collect();
    groups.sort();
    groups.dedup();
    forensics::allow_https_to_groups(ec2_client, &group, &groups).await?;
    let s3 = if wanted.iter().any(|e| service(e) == "s3") {
        ""
    } else {
        "; no S3 interface endpoint: the capture cannot upload its files"
    };
    Ok(Acted::done(format!(
        "isolation group {group} allows HTTPS to the Systems Manager endpoints' groups {} only{s3}",
        groups.join(", ")
    )))
}

async fn send_capture_command(clients: &Clients, request: &CommandRequest<'_>) -> Result<Acted, AwsError> {
    let instance_id = request.instance_id;
    let (sent, managed) =
        tokio::join!(ssm::commands_for(&clients.ssm, instance_id), ssm::managed_instance(&clients.ssm, instance_id));
    let document = profile_name(request.document);
    // A delivery that sent the command but crashed (or lost the answer) before tagging it.
    if let Some(earlier) =
        sent?.into_iter().find(|c| c.comment == request.comment && profile_name(&c.document) == document)
    {
        let record = [(EVIDENCE_COMMAND_TAG.to_string(), earlier.command_id.clone())];
        ec2::create_tags(&clients.ec2, instance_id, &record).await?;
        return Ok(Acted::already_done(format!(
            "command {} already sent for this case ({})",
            earlier.command_id, earlier.status
        ))
        .recording_on(instance_id, record));
    }
    let Some(managed) = managed? else {
        return Ok(Acted::already_done(
            "not SSM-managed (Systems Manager does not know the instance): no volatile state or memory captured; \
             everything else of the quarantine still happens",
        ));
    };
    let command_id = match ssm::send_command(&clients.ssm, request).await {
        Ok(command_id) => command_id,
        // The answer may be lost after SSM took the command: found by its comment, it is ours.
        Err(error) => ssm::commands_for(&clients.ssm, instance_id)
            .await?
            .into_iter()
            .find(|c| c.comment == request.comment && profile_name(&c.document) == document)
            .map(|c| c.command_id)
            .ok_or(error)?,
    };
    let record = [(EVIDENCE_COMMAND_TAG.to_string(), command_id.clone())];
    ec2::create_tags(&clients.ec2, instance_id, &record).await?;
    let waiting = if managed.ping_status == "Online" {
        String::new()
    } else {
        format!(" (the agent is {}: the command waits for it)", managed.ping_status)
    };
    Ok(Acted::done(format!(
        "command {command_id} of {document} sent to the {} agent{waiting}; captures go to s3://{}/{}; not waited \
         for: `firebreak show` reports its status",
        managed.platform_type, request.output_bucket, request.parameters[1].1
    ))
    .recording_on(instance_id, record))
}

async fn save_instance_evidence(
    clients: &Clients,
    instance_id: &str,
    bucket: &str,
    prefix: &str,
) -> Result<Acted, AwsError> {
    let ec2_client = &clients.ec2;
    let (metadata, console, screenshot) = tokio::join!(
        forensics::instance_metadata(ec2_client, instance_id),
        forensics::console_output(ec2_client, instance_id),
        forensics::console_screenshot(ec2_client, instance_id)
    );
    let mut objects: Vec<(&str, Vec<u8>, &str)> = Vec::new();
    let mut notes = Vec::new();
    if let Some(metadata) = metadata? {
        objects.push((
            "instance-metadata.json",
            serde_json::to_vec_pretty(&metadata).unwrap_or_default(),
            "application/json",
        ));
    }
    match console? {
        Some(text) => objects.push(("console-output.txt", text, "text/plain")),
        None => notes.push("no console output yet".to_string()),
    }
    // Only Nitro instances have screenshots, and not every Region or emulator serves them.
    match screenshot {
        Ok(Some(image)) => objects.push(("console-screenshot.jpg", image, "image/jpeg")),
        Ok(None) => notes.push("no console screenshot".to_string()),
        Err(e) => notes.push(format!("console screenshot unavailable ({}: {})", e.code, e.message)),
    }
    let mut written = Vec::new();
    let mut found = Vec::new();
    for (name, body, content_type) in objects {
        let key = format!("{prefix}{name}");
        match forensics::put_evidence(&clients.s3, bucket, &key, body, content_type).await? {
            Written::Created => written.push(key),
            Written::AlreadyThere => found.push(key),
        }
    }
    let mut detail = Vec::new();
    if !written.is_empty() {
        detail.push(format!("wrote s3://{bucket}/{{{}}}", written.join(", ")));
    }
    if !found.is_empty() {
        detail.push(format!("already saved (left as they are): {}", found.join(", ")));
    }
    detail.extend(notes);
    let detail = detail.join("; ");
    Ok(if written.is_empty() { Acted::already_done(detail) } else { Acted::done(detail) })
}
