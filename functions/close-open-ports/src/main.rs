use close_open_ports::Function;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    firebreak::logging::init();
    let function =
        Function { config: firebreak::ports::PortsConfig::from_env()?, clients: firebreak::Clients::from_env().await };
    let function = &function;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        close_open_ports::handle(function, event).await
    }))
    .await
}
