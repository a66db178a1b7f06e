//! The case ledger's table in the emulator, made as the templates make it (key `case_id`,
//! on-demand), and read back for assertions.

use aws_sdk_dynamodb::types::{AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType};
use firebreak::cases::Case;

use crate::Moto;

pub const TABLE: &str = "firebreak-cases";

/// Creates the ledger table in the function's own account.
pub async fn create_table(moto: &Moto) -> aws_sdk_dynamodb::Client {
    let dynamodb = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    dynamodb
        .create_table()
        .table_name(TABLE)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("case_id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute"),
        )
        .key_schema(KeySchemaElement::builder().attribute_name("case_id").key_type(KeyType::Hash).build().expect("key"))
        .send()
        .await
        .expect("CreateTable");
    dynamodb
}

/// Every case in the ledger.
pub async fn cases(dynamodb: &aws_sdk_dynamodb::Client) -> Vec<Case> {
    let items = firebreak::aws::cases::scan(dynamodb, TABLE).await.expect("Scan");
    items.iter().filter_map(Case::from_item).collect()
}
