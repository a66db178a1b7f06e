//! The response policy's world on moto, shared by the approval tests: the DoS relay's instance,
//! the case ledger, an SNS topic and a Scheduler group, and quarantine-instance holding a policy.

use std::sync::Arc;

use firebreak::approval::{Approvals, Schedules};
use firebreak::cases::Case;
use firebreak::engine::CommonConfig;
use firebreak::notify::NotifyConfig;
use firebreak::respond::Settings;
use firebreak::response_policy::{Mode, Policy};
use lambda_runtime::{Context, LambdaEvent};
use quarantine_instance::Function;
use serde_json::Value;

use crate::ledger::{self, TABLE};
use crate::scenario::{CompromisedInstance, Setup};
use crate::{Moto, Scenario};

pub const DOS_EVENT: &str = "quarantine-instance/guardduty-ec2-dos-actor.json";
pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:quarantine-instance";
pub const GROUP: &str = "firebreak";
pub const SCHEDULER_ROLE: &str = "arn:aws:iam::123456789012:role/firebreak-scheduler";

pub struct World {
    pub moto: Moto,
    pub scenario: Scenario,
    pub instance: CompromisedInstance,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub topic: String,
    pub scheduler: aws_sdk_scheduler::Client,
}

pub async fn world() -> World {
    let moto = Moto::start();
    let scenario = Scenario::new(&moto).await;
    let instance = scenario.compromised_instance(&Setup::bare()).await;
    let dynamodb = ledger::create_table(&moto).await;
    let config = moto.sdk_config().await;
    let sns = aws_sdk_sns::Client::new(&config);
    let topic = sns.create_topic().name("firebreak").send().await.expect("CreateTopic").topic_arn.expect("arn");
    let scheduler = aws_sdk_scheduler::Client::new(&config);
    scheduler.create_schedule_group().name(GROUP).send().await.expect("CreateScheduleGroup");
    World { moto, scenario, instance, dynamodb, topic, scheduler }
}

impl World {
    /// The policy and where its requests go (Security Hub off: moto lacks BatchUpdateFindings).
    pub fn approvals(&self, policy: Policy) -> Arc<Approvals> {
        Arc::new(Approvals {
            policy,
            sns_topic_arn: Some(self.topic.clone()),
            security_hub: false,
            schedules: Some(Schedules {
                scheduler: self.scheduler.clone(),
                group: GROUP.into(),
                role_arn: SCHEDULER_ROLE.into(),
            }),
        })
    }

    /// quarantine-instance with the ledger and this policy, its other settings the defaults.
    pub async fn function(&self, policy: Policy) -> Function {
        self.function_with(policy, Settings::default()).await
    }

    /// quarantine-instance with the ledger, this policy and these settings.
    pub async fn function_with(&self, policy: Policy, settings: Settings) -> Function {
        let mut config = Settings { notify: NotifyConfig { sns_topic_arn: None, security_hub: false }, ..settings };
        config.quarantine.common = CommonConfig { cases_table: Some(TABLE.into()), ..config.quarantine.common };
        let accounts = crate::accounts(&self.moto).await.with_approvals(self.approvals(policy));
        Function { accounts, config }
    }

    pub fn event(&self) -> Value {
        self.scenario.guardduty_event(DOS_EVENT, &self.instance)
    }

    pub async fn cases(&self) -> Vec<Case> {
        ledger::cases(&self.dynamodb).await
    }

    pub async fn groups(&self) -> Vec<Vec<String>> {
        let view = self.scenario.view(&self.instance.instance_id, None).await;
        view.interface_groups.values().cloned().collect()
    }

    pub fn original_groups(&self) -> Vec<Vec<String>> {
        self.instance.interfaces.iter().map(|(_, groups)| groups.clone()).collect()
    }
}

/// quarantine-instance's handler, invoked as the deployed function would be.
pub async fn invoke(function: &Function, event: Value) -> Result<Value, firebreak::engine::FunctionError> {
    let mut context = Context::default();
    context.invoked_function_arn = FUNCTION_ARN.into();
    quarantine_instance::handle(function, LambdaEvent::new(event, context)).await
}

pub fn policy(text: &str) -> Policy {
    Policy::from_json(text, Mode::Contain).expect("valid policy")
}
