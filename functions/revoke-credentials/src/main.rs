use lambda_runtime::{service_fn, Error, LambdaEvent};
use revoke_credentials::Function;
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    firebreak::logging::init();
    let clients = firebreak::Clients::from_env().await;
    let mut config = firebreak::revoke::RevokeConfig::from_env()?;
    // Once per cold start: the identity this function must never revoke. Failing here fails the
    // start, so the function never runs without knowing who it is.
    config.own_identity = Some(firebreak::aws::iam::caller_identity(&clients.sts).await?);
    let function = Function { config, clients };
    let function = &function;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        revoke_credentials::handle(function, event).await
    }))
    .await
}
