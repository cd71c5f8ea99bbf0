//! `template.yaml` must declare exactly the routes of `shared::routes::ROUTES`: same method,
//! path and function, and the authorizer on exactly the protected ones.

use std::collections::BTreeSet;
use std::path::PathBuf;

use shared::routes::{Access, ROUTES};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// (method, path, binary, protected) for every HttpApi event in the template. A line-based read
/// is enough for the template's regular shape and needs no YAML parser that knows `!Ref` tags.
fn declared_routes() -> BTreeSet<(String, String, String, bool)> {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let mut routes = BTreeSet::new();
    let mut binary = String::new();
    let mut pending: Option<(String, String)> = None;
    let mut protected = false;
    let mut flush = |pending: &mut Option<(String, String)>, binary: &str, protected: bool| {
        if let Some((method, path)) = pending.take() {
            routes.insert((method, path, binary.to_owned(), protected));
        }
    };
    for line in text.lines() {
        let trimmed = line.trim();
        let value = |key: &str| trimmed.strip_prefix(key).map(|rest| rest.trim().to_owned());
        if let Some(name) = value("Binary:") {
            flush(&mut pending, &binary, protected);
            binary = name;
        } else if let Some(method) = value("Method:") {
            flush(&mut pending, &binary, protected);
            pending = Some((method, String::new()));
            protected = false;
        } else if let Some(path) = value("Path:") {
            if let Some((_, pending_path)) = pending.as_mut() {
                *pending_path = path;
            }
        } else if trimmed == "Authorizer: LambdaAuthorizer" {
            protected = true;
        } else if !line.starts_with("      ") && !trimmed.is_empty() && !trimmed.starts_with('#') {
            // A new top-level resource (or section) ends the current function's events.
            flush(&mut pending, &binary, protected);
        }
    }
    flush(&mut pending, &binary, protected);
    routes
}

#[test]
fn template_declares_the_route_table() {
    let expected: BTreeSet<_> = ROUTES
        .iter()
        .map(|route| {
            let protected = matches!(route.access, Access::Bearer(_));
            (route.method.to_owned(), route.path.to_owned(), route.function.to_owned(), protected)
        })
        .collect();
    assert_eq!(declared_routes(), expected);
}

#[test]
fn every_route_function_is_a_workspace_binary() {
    for route in ROUTES {
        let manifest = root().join("functions").join(route.function).join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).unwrap_or_else(|_| panic!("no crate for {}", route.function));
        assert!(text.contains(&format!("name = \"{}\"", route.function)), "{}", manifest.display());
    }
}

/// No function's environment may hold a secret value: keys come from Secrets Manager at init,
/// never through `{{resolve:secretsmanager}}` or a literal in the configuration.
#[test]
fn no_secret_sits_in_a_function_environment() {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    assert!(!text.contains("{{resolve:secretsmanager"), "a dynamic reference puts the secret in the configuration");
    assert!(!text.contains("{{resolve:ssm-secure"), "a dynamic reference puts the secret in the configuration");
    for forbidden in ["JWT_PRIVATE_KEY:", "JWT_HS256_SECRET:", "MFA_ENCRYPTION_KEY:"] {
        assert!(!text.contains(forbidden), "{forbidden} set in template.yaml");
    }
    let count = |pattern: &str| text.matches(pattern).count();
    let signers = count("JWT_SIGNING_KEY_SECRET_ARN: !Ref SigningKeySecretArn");
    let mfa_readers = count("MFA_ENCRYPTION_KEY_SECRET_ARN: !Ref MfaKeySecretArn");
    assert_eq!((signers, mfa_readers), (7, 2), "the signers and the MFA functions");
    let grant = "- secretsmanager:GetSecretValue\n              Resource:";
    let signing_only = count(&format!("{grant} !Ref SigningKeySecretArn\n"));
    let mfa_only = count(&format!("{grant} !Ref MfaKeySecretArn\n"));
    let both = count(&format!(
        "{grant}\n                - !Ref SigningKeySecretArn\n                - !Ref MfaKeySecretArn\n   "
    ));
    // Each function may read exactly the secrets it reads: the signing key (six signers), the
    // MFA data key (the mfa function), both (mfa-verify, which signs), and nothing else.
    assert_eq!((signing_only, mfa_only, both), (6, 1, 1), "a secret granted beyond its readers");
    // And the introspection clients' secret, for the introspect function only, when configured.
    let clients =
        count("- secretsmanager:GetSecretValue\n                Resource: !Ref IntrospectionClientsSecretArn\n");
    assert_eq!(clients, 1);
    // The providers' client secrets, for the oauth function only (which signs nothing).
    let providers = count("- secretsmanager:GetSecretValue\n                Resource: !Ref OAuthProvidersSecretArn\n");
    assert_eq!(providers, 1);
    let oauth = &text[text.find("Binary: oauth\n").unwrap()..text.find("Binary: oauth-token\n").unwrap()];
    assert!(!oauth.contains("SigningKeySecretArn"), "the function holding provider secrets signs nothing");
    // The legacy Cognito client's secret, for the two functions that migrate users.
    let legacy = "- secretsmanager:GetSecretValue\n                Resource: !Ref LegacyCognitoClientSecretArn\n";
    assert_eq!(count(legacy), 2);
    assert_eq!(count("LEGACY_COGNITO_CLIENT_SECRET_ARN: !If [HasLegacyCognitoSecret"), 2);
    assert_eq!(count("- secretsmanager:GetSecretValue"), 12);
}

/// Lists are queries on an index: no function may scan, and none may query a table itself.
#[test]
fn queries_are_granted_on_indexes_only_and_scans_not_at_all() {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    assert!(!text.contains("dynamodb:Scan"), "a function may scan");
    let lines: Vec<&str> = text.lines().collect();
    let mut grants = Vec::new();
    for (at, _) in lines.iter().enumerate().filter(|(_, line)| line.trim() == "- dynamodb:Query") {
        let resource = lines[at + 1..].iter().map(|line| line.trim()).find(|line| line.starts_with("Resource:"));
        let resource = resource.unwrap_or_default();
        assert!(
            lines[at + 1].trim().starts_with("Resource:") && resource.contains("/index/"),
            "Query granted beyond an index (it must be the statement's only action): {resource}"
        );
        grants.push(resource.to_owned());
    }
    let on_sessions = grants.iter().filter(|resource| resource.ends_with("/index/sessions_by_user")).count();
    assert_eq!(
        on_sessions, 3,
        "the two session-list functions and account deletion query sessions_by_user: {grants:?}"
    );
}

/// Events go to the configured bus only, from exactly the functions that emit them.
#[test]
fn events_may_be_put_on_the_configured_bus_only() {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let grant = "- events:PutEvents\n                Resource: !Sub arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${EventBusName}\n";
    assert_eq!(text.matches("events:PutEvents").count(), text.matches(grant).count(), "PutEvents beyond the bus");
    let emitters = [
        "register",
        "login",
        "refresh",
        "change-password",
        "account-recovery",
        "change-email",
        "admin-update-user",
        "admin-roles",
        "delete-account",
        "mfa",
        "mfa-verify",
        "oauth",
        "oauth-token",
        "passkeys",
        "passkey-login",
    ];
    assert_eq!(text.matches(grant).count(), emitters.len());
    for function in emitters {
        let start = text.find(&format!("Binary: {function}\n")).unwrap_or_else(|| panic!("no {function}"));
        let block = &text[start..text[start..].find("    Events:").map_or(text.len(), |end| start + end)];
        assert!(block.contains(grant), "{function} cannot put its events");
    }
}

/// The service's own metrics in the template (its alarms by `MetricName` under `Namespace:
/// JwtAuth`, its dashboard by `["JwtAuth", "<name>", …]`): only names the code emits, and every
/// one it emits on the dashboard.
#[test]
fn alarms_and_the_dashboard_read_the_metrics_the_code_emits() {
    use shared::metrics::{Metric, NAMESPACE};
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let emitted: BTreeSet<&str> = Metric::ALL.iter().map(|metric| metric.name()).collect();
    let mut namespace = String::new();
    let mut alarmed = BTreeSet::new();
    for line in text.lines().map(str::trim) {
        if let Some(value) = line.strip_prefix("Namespace:") {
            namespace = value.trim().to_owned();
        } else if let Some(name) = line.strip_prefix("MetricName:")
            && namespace == NAMESPACE
        {
            alarmed.insert(name.trim().to_owned());
        }
    }
    let marker = format!("[\"{NAMESPACE}\", \"");
    let on_dashboard: BTreeSet<String> =
        text.split(&marker).skip(1).map(|rest| rest.split('"').next().unwrap().to_owned()).collect();
    assert!(alarmed.len() >= 5, "the alarms on the service's metrics: {alarmed:?}");
    for name in alarmed.iter().chain(&on_dashboard) {
        assert!(emitted.contains(name.as_str()), "{name} is read by the template but never emitted");
    }
    for name in &emitted {
        assert!(on_dashboard.contains(*name), "{name} is emitted but not on the dashboard");
    }
}
