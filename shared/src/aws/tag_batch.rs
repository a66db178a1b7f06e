//! One CreateTags for the tags several steps put on one instance at the same moment. Once an
//! instance's isolation moves are sent, its preservation steps start together and each writes its
//! record (Auto Scaling group, termination settings, target groups, instance profile) or the
//! case's tags on the instance: four or five CreateTags, from a bucket that refills 10 a second
//! for the whole account. Gathered for a moment, they go as one call carrying all their tags, and
//! every step still returns only once its own tags are written (its record before its change).
//! Tags that disagree on a key's value are never merged.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use futures::channel::oneshot;

use super::AwsError;

/// How long the first step waits for the others: they start within the same poll, so a few
/// milliseconds are plenty, and preservation can spare them.
const GATHER: Duration = Duration::from_millis(5);

type Outcome = Result<(), AwsError>;

struct Batch {
    tags: Vec<(String, String)>,
    waiters: Vec<oneshot::Sender<Outcome>>,
}

/// Batches being gathered, by resource id (instance ids are unique across accounts).
static GATHERING: Mutex<BTreeMap<String, Batch>> = Mutex::new(BTreeMap::new());

/// Whether `more` can join `tags` in one call: no key with two values.
fn agrees(tags: &[(String, String)], more: &[(String, String)]) -> bool {
    more.iter().all(|(k, v)| tags.iter().all(|(k2, v2)| k2 != k || v2 == v))
}

/// A leader cut off (the Lambda deadline) takes its batch away, so that no later step joins a
/// batch nobody will send; its waiters see their channel closed.
struct Leader<'a>(&'a str);

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        if let Ok(mut gathering) = GATHERING.lock() {
            gathering.remove(self.0);
        }
    }
}

/// Writes `pairs` on `resource_id` with `send`, in one call with every other step's tags for the
/// same resource that arrive within [`GATHER`].
pub async fn tag_together<F, Fut>(resource_id: &str, pairs: &[(String, String)], send: F) -> Outcome
where
    F: FnOnce(Vec<(String, String)>) -> Fut,
    Fut: std::future::Future<Output = Outcome>,
{
    let (sender, receiver) = oneshot::channel();
    // `None`: this one goes alone (a disagreeing value in the batch, or a poisoned lock).
    let joined = GATHERING.lock().ok().and_then(|mut gathering| match gathering.get_mut(resource_id) {
        Some(batch) if agrees(&batch.tags, pairs) => {
            for pair in pairs {
                if !batch.tags.contains(pair) {
                    batch.tags.push(pair.clone());
                }
            }
            batch.waiters.push(sender);
            Some(true)
        }
        Some(_) => None,
        None => {
            gathering.insert(resource_id.to_string(), Batch { tags: pairs.to_vec(), waiters: vec![sender] });
            Some(false)
        }
    });
    let Some(joined) = joined else { return send(pairs.to_vec()).await };
    if !joined {
        let leader = Leader(resource_id);
        tokio::time::sleep(GATHER).await;
        // Not cut off: the leader takes its batch itself (a drop after this could remove the
        // next batch for the same resource).
        std::mem::forget(leader);
        let batch = GATHERING.lock().ok().and_then(|mut g| g.remove(resource_id));
        if let Some(batch) = batch {
            let outcome = send(batch.tags).await;
            for waiter in batch.waiters {
                let _ = waiter.send(outcome.clone());
            }
        }
    }
    receiver.await.unwrap_or_else(|_| {
        Err(AwsError {
            action: "CreateTags",
            code: "Cancelled".into(),
            message: "the gathered CreateTags was cut off".into(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[tokio::test]
    async fn concurrent_tags_of_one_resource_go_in_one_call_and_disagreeing_ones_alone() {
        let calls = Arc::new(Mutex::new(Vec::new()));
        type Calls = Arc<Mutex<Vec<Vec<(String, String)>>>>;
        let send = |calls: Calls| {
            move |tags: Vec<(String, String)>| async move {
                calls.lock().unwrap().push(tags);
                Ok(())
            }
        };
        let (case, group, other) = (
            tags(&[("firebreak:case", "c1")]),
            tags(&[("firebreak:autoscaling-group", "web")]),
            tags(&[("firebreak:case", "other")]),
        );
        let (a, b, c) = tokio::join!(
            tag_together("i-0batch", &case, send(calls.clone())),
            tag_together("i-0batch", &group, send(calls.clone())),
            tag_together("i-0batch", &other, send(calls.clone())),
        );
        assert!(a.is_ok() && b.is_ok() && c.is_ok());
        let calls = calls.lock().unwrap().clone();
        assert_eq!(calls.len(), 2, "{calls:?}");
        assert!(calls.contains(&tags(&[("firebreak:case", "other")])));
        assert!(calls.contains(&tags(&[("firebreak:case", "c1"), ("firebreak:autoscaling-group", "web")])));
    }
}
