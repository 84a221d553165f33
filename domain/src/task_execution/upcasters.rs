//! Upcasters: old shapes of stored events rewritten to the current ones as they are read, so
//! history written by earlier versions keeps loading. Apply them in order.

use cqrs_es::persist::{EventUpcaster, SemanticVersionEventUpcaster};
use serde_json::{json, Value};

/// `JobRequested` 1.0 had no generation options and no requesting key; 2.0 has both.
fn job_requested_1_to_2(mut payload: Value) -> Value {
    if let Some(body) = payload
        .get_mut("JobRequested")
        .and_then(Value::as_object_mut)
    {
        body.entry("options").or_insert_with(|| json!({}));
        body.entry("api_key_id").or_insert(Value::Null);
    }
    payload
}

/// Every upcaster of `TaskExecution` events, oldest version first.
pub fn upcasters() -> Vec<Box<dyn EventUpcaster>> {
    vec![Box::new(SemanticVersionEventUpcaster::new(
        "JobRequested",
        "2.0",
        Box::new(job_requested_1_to_2),
    ))]
}

#[cfg(test)]
mod tests {
    use cqrs_es::persist::SerializedEvent;

    use super::*;
    use crate::TaskExecutionEvent;

    fn version_1() -> SerializedEvent {
        SerializedEvent::new(
            "job-1".into(),
            1,
            "TaskExecution".into(),
            "JobRequested".into(),
            "1.0".into(),
            json!({"JobRequested": {
                "job_id": "job-1",
                "organization_id": "acme",
                "job_role": "Nurse",
                "job_description": "Patient care",
                "cutoff": 40,
                "notification_url": null,
                "requested_at": "2025-10-09T16:51:14Z"
            }}),
            json!({}),
        )
    }

    #[test]
    fn a_version_1_job_request_is_read_as_version_2() {
        let old = version_1();
        assert!(
            serde_json::from_value::<TaskExecutionEvent>(old.payload.clone()).is_err(),
            "without the upcaster the old shape does not load"
        );
        let upcaster = &upcasters()[0];
        assert!(upcaster.can_upcast("JobRequested", "1.0"));
        assert!(!upcaster.can_upcast("JobRequested", "2.0"));
        assert!(!upcaster.can_upcast("StepStarted", "1.0"));
        let upcast = upcaster.upcast(old);
        assert_eq!(upcast.event_version, "2.0.0");
        let TaskExecutionEvent::JobRequested(requested) =
            serde_json::from_value(upcast.payload).unwrap()
        else {
            panic!("not a JobRequested");
        };
        assert_eq!(requested.organization_id, "acme");
        assert_eq!(requested.options, Default::default());
        assert_eq!(requested.api_key_id, None);
    }
}
