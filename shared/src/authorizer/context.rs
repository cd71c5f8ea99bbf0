//! The authorizer's context: what it hands the handlers (API Gateway passes it on), and the
//! principal a handler reads back from it.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::CLAIM_PREFIX;
use crate::domain::{Permission, Principal, Role};

/// The authorizer context handed to handlers (flat string values, as API Gateway requires).
pub fn principal_context(principal: &Principal) -> Value {
    let mut context = json!({
        "user_id": principal.user_id,
        "email": principal.email,
        "role": principal.role.as_str(),
        "token_id": principal.token_id,
        "session_id": principal.session_id,
        // Space-separated, as OAuth writes a list in one string (context values are flat).
        "amr": principal.amr.join(" "),
        "roles": principal.roles.join(" "),
        "permissions": principal.permissions.iter().map(Permission::as_str).collect::<Vec<_>>().join(" "),
    });
    // Absent rather than null: API Gateway accepts only string, number and boolean values.
    if let Some(csrf) = &principal.csrf {
        context["csrf"] = json!(csrf);
    }
    // Custom claims under `claim_<name>`: strings, numbers and booleans as they are; anything
    // else (an object, an array, null) as its JSON text, which the handler parses back.
    for (name, value) in &principal.claims {
        let flat = match value {
            Value::String(_) | Value::Number(_) | Value::Bool(_) => value.clone(),
            other => Value::String(other.to_string()),
        };
        context[format!("{CLAIM_PREFIX}{name}")] = flat;
    }
    context
}

/// Reads back what [`principal_context`] wrote, from the request context a handler receives.
pub fn principal_from_context(fields: &HashMap<String, Value>) -> Option<Principal> {
    let text = |name: &str| fields.get(name).and_then(Value::as_str).map(str::to_owned);
    let words = |name: &str| fields.get(name).and_then(Value::as_str).unwrap_or_default().split_whitespace();
    Some(Principal {
        user_id: text("user_id")?,
        email: text("email")?,
        role: Role::parse(&text("role")?)?,
        token_id: text("token_id")?,
        session_id: text("session_id")?,
        csrf: text("csrf"),
        amr: words("amr").map(str::to_owned).collect(),
        roles: words("roles").map(str::to_owned).collect(),
        // The authorizer wrote only permissions it had verified in a signed token.
        permissions: words("permissions").filter_map(|name| Permission::parse(name).ok()).collect(),
        claims: fields
            .iter()
            .filter_map(|(name, value)| name.strip_prefix(CLAIM_PREFIX).map(|name| (name.to_owned(), value.clone())))
            .collect(),
    })
}
