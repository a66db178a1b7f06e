//! The rest of the night around the compromised instance: its Elastic IP, the IAM user whose key
//! leaked, GuardDuty switched on, and the sample events of `events/` pointed at them.

use aws_sdk_ec2::types::DomainType;
use serde_json::{json, Value};

use crate::moto::ACCOUNT_ID;
use crate::{sample_event, Scenario};

impl Scenario {
    /// Allocates an Elastic IP and associates it with the instance (its primary ENI); the address.
    pub async fn elastic_ip(&self, instance_id: &str) -> String {
        let allocation = self.ec2.allocate_address().domain(DomainType::Vpc).send().await.expect("AllocateAddress");
        self.ec2
            .associate_address()
            .allocation_id(allocation.allocation_id().expect("an allocation id"))
            .instance_id(instance_id)
            .send()
            .await
            .expect("AssociateAddress");
        allocation.public_ip().expect("a public IP").to_string()
    }

    /// An IAM user with one access key; the key id.
    pub async fn user_with_key(&self, user: &str) -> String {
        self.iam.create_user().user_name(user).send().await.expect("CreateUser");
        let key = self.iam.create_access_key().user_name(user).send().await.expect("CreateAccessKey");
        key.access_key().expect("an access key").access_key_id().to_string()
    }

    /// GuardDuty switched on in the account (it is what sends the findings); the detector id.
    pub async fn guardduty_detector(&self) -> String {
        let created = self.clients.guardduty.create_detector().enable(true).send().await.expect("CreateDetector");
        created.detector_id().unwrap_or_default().to_string()
    }
}

/// The CloudWatch NetworkOut alarm (state ALARM) on this instance.
pub fn network_out_alarm(instance_id: &str) -> Value {
    let mut event = sample_event("abuse-report/cloudwatch-networkout-alarm.json");
    event["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"]["InstanceId"] =
        json!(instance_id);
    event
}

/// AWS Health's DoS abuse notice naming these IP addresses.
pub fn abuse_notice(addresses: &[&str]) -> Value {
    let mut event = sample_event("abuse-report/health-abuse-dos-ip.json");
    event["resources"] = json!(addresses);
    event["detail"]["affectedEntities"] = addresses.iter().map(|a| json!({ "entityValue": a })).collect();
    event
}

/// AWS Health's AWS_RISK_CREDENTIALS_EXPOSED notice naming this user's access key.
pub fn credentials_exposed(user: &str, access_key_id: &str) -> Value {
    let mut event = sample_event("revoke-credentials/health-risk-credentials-exposed.json");
    event["detail"]["affectedEntities"] = json!([{ "entityValue": access_key_id }]);
    let description = &mut event["detail"]["eventDescription"][0]["latestDescription"];
    if let Some(text) = description.as_str() {
        *description = json!(text.replace("AKIAQ3EGSYGZR3EXAMPL", access_key_id).replace("deploy-bot", user));
    }
    event["account"] = json!(ACCOUNT_ID);
    event
}

/// The daily schedule that starts audit-posture.
pub fn daily_schedule() -> Value {
    sample_event("audit-posture/schedule-daily.json")
}
