//! Other accounts and Regions in the one emulator: moto's AssumeRole issues credentials that act
//! in the account the role ARN names, so a test can build a member account's resources and then
//! check that Firebreak acted there and nowhere else.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sts::config::Credentials;

use crate::{Moto, Scenario};

/// The member account of the organisation tests (the function runs in `moto::ACCOUNT_ID`).
pub const MEMBER_ACCOUNT: &str = "222222222222";

/// A config acting in `account` and `region` (credentials from moto's AssumeRole).
pub async fn account_config(moto: &Moto, account: &str, region: &str) -> SdkConfig {
    let sts = aws_sdk_sts::Client::new(&moto.sdk_config().await);
    let assumed = sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/test-setup"))
        .role_session_name("test-setup")
        .send()
        .await
        .expect("AssumeRole");
    let c = assumed.credentials().expect("credentials");
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(&moto.endpoint)
        .credentials_provider(Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            None,
            "moto-member",
        ))
        .load()
        .await
}

/// A scenario in `account` and `region`.
pub async fn scenario(moto: &Moto, account: &str, region: &str) -> Scenario {
    Scenario::in_config(&account_config(moto, account, region).await)
}
