use lambda_runtime::{service_fn, Error, LambdaEvent};
use quarantine_instance::Function;
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    firebreak::logging::init();
    let function = Function {
        config: firebreak::respond::Settings::from_env()?,
        accounts: firebreak::accounts::Accounts::from_env().await?,
    };
    let function = &function;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        quarantine_instance::handle(function, event).await
    }))
    .await
}
