//! The actors of an attack sequence (`service.detection.sequence.actors[]`, API type `Actor`):
//! who did it — the IAM identity (`user`), the session, the process. Field names are the GuardDuty
//! API's `locationName`s (`Actor`: `id`, `user`, `session`, `process`; `User`: `name`, `uid`,
//! `type`, `credentialUid`, `account`). The API marks `User.name/uid/type` required; a hostile or
//! truncated event may still lack them, so each is optional here and checked where it is used.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub user: Option<ActorUser>,
}

/// The credentials the actor used. `account` is "the account within which the activity took
/// place", not necessarily the identity's own: the identity's account is read from `uid` when it is
/// an ARN.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActorUser {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub uid: Option<String>,
    #[serde(default, rename = "type")]
    pub user_type: Option<String>,
    #[serde(default)]
    pub credential_uid: Option<String>,
}
