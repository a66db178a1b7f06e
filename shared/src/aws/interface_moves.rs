//! An ENI's security groups replaced, through whichever of two EC2 buckets has a token. EC2
//! throttles ModifyNetworkInterfaceAttribute with its own bucket (100, refilled 5 a second), and
//! ModifyInstanceAttribute with the mutating actions' bucket (50, 5 a second). For an instance
//! with a single network interface, ModifyInstanceAttribute `GroupId.N` replaces that interface's
//! groups just the same (EC2 refuses it for an instance with several). So when a move of a sole
//! interface is throttled it goes through the other action at once: a burst of isolations draws
//! on both buckets, nearly twice the moves a second (docs/performance.md, "The burst").

use std::sync::atomic::{AtomicBool, Ordering};

use aws_sdk_ec2::Client;
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction, RetryClassifierPriority};

use super::throttle::{is_throttled, persist, Priority};
use crate::aws::{AwsError, AwsResultExt};

/// Which action the process's last throttled move found with tokens left: the next move tries it
/// first, so that a move spends no round trip on a bucket known to be empty.
static BY_INSTANCE_FIRST: AtomicBool = AtomicBool::new(false);

/// Replaces `eni_id`'s groups with `group_ids`; `sole_interface_of` names its instance when the
/// ENI is that instance's only one. A throttled move waits for a token (`aws::throttle`).
pub async fn move_interface(
    ec2: &Client,
    eni_id: &str,
    sole_interface_of: Option<&str>,
    group_ids: &[String],
) -> Result<(), AwsError> {
    let Some(instance_id) = sole_interface_of else {
        return persist(Priority::Containment, || modify_interface(ec2, eni_id, group_ids)).await;
    };
    // Once EC2 refuses the instance's action (a second ENI attached since the plan read it), the
    // ENI's own action only.
    let refused = &std::cell::Cell::new(false);
    persist(Priority::Containment, move || async move {
        let by_instance_first = BY_INSTANCE_FIRST.load(Ordering::Relaxed) && !refused.get();
        let mut throttled = None;
        for (turn, by_instance) in [by_instance_first, !by_instance_first].into_iter().enumerate() {
            if by_instance && refused.get() {
                continue;
            }
            let moved = match by_instance {
                true => modify_instance(ec2, instance_id, group_ids).await,
                false => modify_sole_interface(ec2, eni_id, group_ids).await,
            };
            match moved {
                Err(e) if is_throttled(&e) => {
                    BY_INSTANCE_FIRST.store(!by_instance, Ordering::Relaxed);
                    if turn == 0 {
                        crate::attempts::note_retry(format!("{} (throttled: sent again)", e.action));
                    }
                    throttled = Some(e);
                }
                Err(_) if by_instance => refused.set(true),
                done => return done,
            }
        }
        // Both throttled (or the instance's refused and the ENI's throttled): wait for a token.
        Err(throttled.unwrap_or_else(|| AwsError {
            action: "ModifyNetworkInterfaceAttribute",
            code: "RequestLimitExceeded".into(),
            message: "no move was admitted".into(),
        }))
    })
    .await
}

/// A throttled move of a sole ENI comes back at once rather than after the SDK's own retries, so
/// that it can take the other action's token; other errors are retried by the SDK as usual.
#[derive(Debug)]
struct ThrottlingToCaller;

impl ClassifyRetry for ThrottlingToCaller {
    fn classify_retry(&self, _: &InterceptorContext) -> RetryAction {
        RetryAction::NoActionIndicated
    }
    fn classify_retry_v2(&self, _: &InterceptorContext, previous: &RetryAction) -> RetryAction {
        match *previous == RetryAction::throttling_error() {
            true => RetryAction::RetryForbidden,
            false => RetryAction::NoActionIndicated,
        }
    }
    fn name(&self) -> &'static str {
        "ThrottlingToCaller"
    }
    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

fn throttling_to_caller() -> aws_sdk_ec2::config::Builder {
    aws_sdk_ec2::config::Builder::default().retry_classifier(ThrottlingToCaller)
}

async fn modify_interface(ec2: &Client, eni_id: &str, group_ids: &[String]) -> Result<(), AwsError> {
    ec2.modify_network_interface_attribute()
        .network_interface_id(eni_id)
        .set_groups(Some(group_ids.to_vec()))
        .send()
        .await
        .aws("ModifyNetworkInterfaceAttribute")
        .map(|_| ())
}

async fn modify_sole_interface(ec2: &Client, eni_id: &str, group_ids: &[String]) -> Result<(), AwsError> {
    ec2.modify_network_interface_attribute()
        .network_interface_id(eni_id)
        .set_groups(Some(group_ids.to_vec()))
        .customize()
        .config_override(throttling_to_caller())
        .send()
        .await
        .aws("ModifyNetworkInterfaceAttribute")
        .map(|_| ())
}

/// The instance's groups: those of its primary (here its only) network interface.
async fn modify_instance(ec2: &Client, instance_id: &str, group_ids: &[String]) -> Result<(), AwsError> {
    ec2.modify_instance_attribute()
        .instance_id(instance_id)
        .set_groups(Some(group_ids.to_vec()))
        .customize()
        .config_override(throttling_to_caller())
        .send()
        .await
        .aws("ModifyInstanceAttribute")
        .map(|_| ())
}
