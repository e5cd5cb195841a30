//! `pods/exec`: not simulated yet (the stretch goal of the issue). The
//! request is answered with a 400 Status that says so, so a client fails
//! clearly instead of hanging.

use std::sync::Arc;

use serde_json::Value;

use super::http::{Reply, Request};
use super::status::ApiError;
use super::Shared;

pub fn upgrade(
    _shared: &Arc<Shared>,
    _req: &Request,
    _pod: &Value,
    _q: &[(String, String)],
) -> Result<Reply, ApiError> {
    Err(ApiError::bad_request(
        "pods/exec is not supported by the test API server",
    ))
}
