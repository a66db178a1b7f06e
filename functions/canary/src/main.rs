use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    firebreak::logging::init();
    let function = &canary::Function::from_env().await?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| canary::handle(function, event))).await
}
