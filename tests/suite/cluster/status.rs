//! Errors as the API server answers them: a `Status` object with `reason`,
//! `code` and `details`, which kube-rs turns into `Error::Api` and kubectl
//! prints as `Error from server (Reason): message`.

use serde_json::{json, Value};

use super::resources::Resource;

#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Value,
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: Value::Null,
        }
    }

    fn about(mut self, res: &Resource, name: &str) -> ApiError {
        let mut d = json!({"name": name, "kind": res.plural});
        if !res.group.is_empty() {
            d["group"] = json!(res.group);
        }
        self.details = d;
        self
    }

    pub fn not_found(res: &Resource, name: &str) -> ApiError {
        ApiError::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", res.gr()),
        )
        .about(res, name)
    }

    pub fn already_exists(res: &Resource, name: &str) -> ApiError {
        ApiError::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", res.gr()),
        )
        .about(res, name)
    }

    pub fn conflict(res: &Resource, name: &str, why: &str) -> ApiError {
        ApiError::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": {why}",
                res.gr()
            ),
        )
        .about(res, name)
    }

    pub fn modified(res: &Resource, name: &str) -> ApiError {
        ApiError::conflict(
            res,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 422 with one cause per (field, message).
    pub fn invalid(res: &Resource, name: &str, causes: &[(String, String)]) -> ApiError {
        let text: Vec<String> = causes.iter().map(|(f, m)| format!("{f}: {m}")).collect();
        let mut e = ApiError::new(
            422,
            "Invalid",
            format!(
                "{}.{} \"{name}\" is invalid: {}",
                res.kind,
                res.group,
                text.join(", ")
            ),
        )
        .about(res, name);
        e.details["kind"] = json!(res.kind);
        e.details["causes"] = causes
            .iter()
            .map(|(f, m)| json!({"reason": "FieldValueInvalid", "message": m, "field": f}))
            .collect();
        e
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "BadRequest", message)
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(401, "Unauthorized", "Unauthorized")
    }

    /// The RBAC message of a real cluster for user `test`.
    pub fn forbidden(verb: &str, res: &Resource, name: &str, ns: &str) -> ApiError {
        let what = if name.is_empty() {
            res.gr()
        } else {
            format!("{} \"{name}\"", res.gr())
        };
        let scope = if ns.is_empty() {
            "at the cluster scope".to_string()
        } else {
            format!("in the namespace \"{ns}\"")
        };
        ApiError::new(
            403,
            "Forbidden",
            format!(
                "{what} is forbidden: User \"test\" cannot {verb} resource \"{}\" in API group \"{}\" {scope}",
                res.plural, res.group
            ),
        )
        .about(res, name)
    }

    pub fn expired(message: impl Into<String>) -> ApiError {
        ApiError::new(410, "Expired", message)
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(500, "InternalError", message)
    }

    pub fn not_found_path(path: &str) -> ApiError {
        ApiError::new(
            404,
            "NotFound",
            format!("the server could not find the requested resource ({path})"),
        )
    }

    pub fn method_not_allowed(message: impl Into<String>) -> ApiError {
        ApiError::new(405, "MethodNotAllowed", message)
    }

    pub fn to_status(&self) -> Value {
        let mut s = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": self.message,
            "reason": self.reason, "code": self.code,
        });
        if !self.details.is_null() {
            s["details"] = self.details.clone();
        }
        s
    }
}

/// The `Status` a successful DELETE of an object without body returns is
/// the object itself in this server; this one is for collections.
pub fn success() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"})
}
