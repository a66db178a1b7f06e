//! How each close-open-ports action is carried out, through the EC2 wrappers.

use super::action::{PortsAction, Replacement};
use crate::aws::{ec2, security_groups, AwsError};
use crate::engine::{Acted, Execute, Progress};

/// The description of every rule close-open-ports adds, so that people know where it came from.
const ALLOWED_CIDR_DESCRIPTION: &str = "Firebreak: allowed CIDR kept after closing the port to the internet";

pub struct Executor<'a> {
    pub ec2: &'a aws_sdk_ec2::Client,
}

impl Execute<PortsAction> for Executor<'_> {
    type Error = AwsError;

    async fn execute(&self, action: &PortsAction, _progress: Progress) -> Result<Acted, AwsError> {
        match action {
            // Always planned as a skip; should it run, there is nothing to do.
            PortsAction::CheckGroup { .. } => Ok(Acted::already_done("nothing to close")),
            PortsAction::RecordRevokedRules { group_id, tags } => {
                ec2::create_tags(self.ec2, group_id, tags).await?;
                Ok(Acted::done(action.to_string().replacen("tag", "tagged", 1)).recording(tags.clone()))
            }
            PortsAction::AuthorizeAllowedCidr { group_id, replacement } => {
                let Replacement { protocol, port, cidr } = replacement;
                let added = security_groups::authorize_ingress(
                    self.ec2,
                    group_id,
                    protocol,
                    *port,
                    cidr,
                    ALLOWED_CIDR_DESCRIPTION,
                )
                .await?;
                Ok(if added {
                    Acted::done(format!("authorized {replacement}"))
                } else {
                    Acted::already_done(format!("{replacement} was already allowed"))
                })
            }
            PortsAction::RevokeIngressRule { group_id, exposing } => {
                let rule_id = &exposing.rule.rule_id;
                Ok(if security_groups::revoke_ingress(self.ec2, group_id, rule_id).await? {
                    Acted::done(action.to_string().replacen("revoke", "revoked", 1))
                } else {
                    Acted::already_done(format!("{rule_id} was already revoked"))
                })
            }
        }
    }
}
