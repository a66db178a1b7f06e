//! A release after a forensic profile: the original profile back, only while the forensic one
//! is still attached (a person's change since the case wins).

use super::action::ReleaseAction;
use super::plan::InstanceNow;
use crate::aws::forensics::{self, profile_name};
use crate::aws::{ec2, AwsError};
use crate::engine::{Acted, Planned};

/// The step when the case put a forensic profile in place (`forensic`), else `None`.
pub fn forensic_profile_step(
    instance: &InstanceNow,
    forensic: Option<&str>,
    original: Option<&str>,
) -> Option<Planned<ReleaseAction>> {
    let forensic = forensic?;
    let action = ReleaseAction::RestoreInstanceProfile {
        instance_id: instance.instance_id.clone(),
        forensic_profile: forensic.to_string(),
        profile_arn: original.map(str::to_string),
    };
    Some(match instance.profile_arn.as_deref() {
        Some(now) if profile_name(now) == forensic => Planned::act(action),
        Some(now) if Some(now) == original => Planned::skip(action, "already associated"),
        Some(now) => Planned::skip(action, format!("has instance profile {now} now: left as it is")),
        None if original.is_none() => Planned::skip(action, "has no instance profile, as before the case"),
        None => Planned::skip(action, "the forensic profile was removed since the case: left without a profile"),
    })
}

pub async fn restore_original_profile(
    ec2_client: &aws_sdk_ec2::Client,
    instance_id: &str,
    forensic: &str,
    original: Option<&str>,
) -> Result<Acted, AwsError> {
    let Some(now) = ec2::instance_profile_association(ec2_client, instance_id).await? else {
        return Ok(Acted::already_done("no instance profile associated any more: left as it is"));
    };
    if profile_name(&now.profile_arn) != forensic {
        return Ok(Acted::already_done(format!("has instance profile {} now: left as it is", now.profile_arn)));
    }
    Ok(match original {
        Some(arn) => {
            forensics::replace_instance_profile(ec2_client, &now.association_id, arn).await?;
            Acted::done(format!("{arn} in place of the forensic profile {forensic}"))
        }
        None => {
            ec2::disassociate_instance_profile(ec2_client, &now.association_id).await?;
            Acted::done(format!("the forensic profile {forensic} removed; the instance had no profile before"))
        }
    })
}
