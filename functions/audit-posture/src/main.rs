use audit_posture::Function;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    firebreak::logging::init();
    let function = Function {
        config: firebreak::posture::PostureConfig::from_env()?,
        clients: firebreak::Clients::from_env().await,
    };
    let function = &function;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        audit_posture::handle(function, event).await
    }))
    .await
}
