//! The authorizer in front of the deployer's own API (`ROUTE_PERMISSIONS`): HTTP API decisions
//! per route by the token's permissions, and REST policies that decide their call exactly and,
//! cached and applied to other calls, never open one the token's role and permissions would
//! not, checked over generated route tables with IAM's own matching.

use e2e::keys;
use serde_json::{Value, json};
use shared::authorizer::{ApiRoutes, Authorizer, AuthorizerResponse, DefaultAccess};
use shared::domain::{Entitlements, Permission, Role};
use shared::routes::{self, Access};
use shared::time::UnixTime;

const STAGE: &str = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod";

fn entitled(roles: &[&str], permissions: &[&str]) -> Entitlements {
    Entitlements {
        roles: roles.iter().map(|role| (*role).to_owned()).collect(),
        permissions: permissions.iter().map(|name| Permission::parse(name).unwrap()).collect(),
    }
}

fn token(keys: &e2e::Keys, role: Role, entitlements: &Entitlements) -> String {
    let now = UnixTime::now();
    let grant = keys.issuer.next_refresh("session-1".into(), now);
    keys.issuer.issue(&e2e::fixed_user(role), entitlements, &grant, now).unwrap().access_token
}

/// An HTTP API (payload 2.0) authorizer event for `route_key`, reached at `method raw_path`.
fn http_event(route_key: &str, method: &str, raw_path: &str, access: &str) -> String {
    json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": format!("{STAGE}/{method}{raw_path}"),
        "identitySource": [format!("Bearer {access}")],
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": "",
        "headers": { "authorization": format!("Bearer {access}") },
        "requestContext": {
            "accountId": "123456789012", "apiId": "a1b2c3d4e5", "domainName": "api.example.com",
            "domainPrefix": "api", "requestId": "r", "routeKey": route_key, "stage": "prod",
            "time": "07/Dec/2026:12:00:00 +0000", "timeEpoch": 1_796_644_800_000_u64,
            "http": { "method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "t" }
        }
    })
    .to_string()
}

async fn http_decision(authorizer: &Authorizer<'_>, event: &str) -> (bool, Value) {
    match authorizer.handle(event, UnixTime::now()).await.unwrap() {
        AuthorizerResponse::HttpApi(response) => (response.is_authorized, response.context),
        AuthorizerResponse::RestApi(_) => panic!("an HTTP API event gets an HTTP API answer"),
    }
}

fn orders_api(default: DefaultAccess) -> ApiRoutes {
    ApiRoutes::new(
        &[
            ("GET /orders", "orders:read"),
            ("POST /orders", "orders:write"),
            ("GET /orders/{id}", "orders:read"),
            ("DELETE /orders/{id}", "orders:delete"),
        ],
        default,
    )
    .unwrap()
}

#[tokio::test]
async fn a_route_of_the_deployers_api_needs_its_permission() {
    let keys = keys();
    let api = orders_api(DefaultAccess::Deny);
    let authorizer = Authorizer::new(&keys.verifier, None).guarding(&api);
    let reader = token(&keys, Role::User, &entitled(&["support"], &["orders:read"]));
    let nobody = token(&keys, Role::User, &Entitlements::default());
    let wildcard = token(&keys, Role::User, &entitled(&["ops"], &["orders:*"]));

    let (allowed, context) =
        http_decision(&authorizer, &http_event("GET /orders/{id}", "GET", "/prod/orders/42", &reader)).await;
    assert!(allowed, "orders:read opens GET /orders/{{id}}");
    assert_eq!(context["roles"], "support");
    assert_eq!(context["permissions"], "orders:read");
    let (allowed, _) =
        http_decision(&authorizer, &http_event("GET /orders/{id}", "GET", "/prod/orders/42", &nobody)).await;
    assert!(!allowed, "no permission, no entry");
    let (allowed, _) = http_decision(&authorizer, &http_event("POST /orders", "POST", "/prod/orders", &reader)).await;
    assert!(!allowed, "orders:read does not write");
    for (route_key, method, path) in
        [("POST /orders", "POST", "/prod/orders"), ("DELETE /orders/{id}", "DELETE", "/prod/orders/7")]
    {
        let (allowed, _) = http_decision(&authorizer, &http_event(route_key, method, path, &wildcard)).await;
        assert!(allowed, "orders:* grants {route_key}");
    }
    // Behind a catch-all route, the request's own method and path pick the table's route.
    let (allowed, _) = http_decision(&authorizer, &http_event("$default", "GET", "/prod/orders/42", &reader)).await;
    assert!(allowed, "a catch-all route is matched by path");
    let (allowed, _) =
        http_decision(&authorizer, &http_event("ANY /{proxy+}", "DELETE", "/prod/orders/42", &reader)).await;
    assert!(!allowed, "the catch-all finds DELETE /orders/{{id}}, which needs orders:delete");
    // Unnamed routes follow ROUTE_PERMISSIONS_DEFAULT: deny here.
    let (allowed, _) = http_decision(&authorizer, &http_event("GET /reports", "GET", "/prod/reports", &wildcard)).await;
    assert!(!allowed, "an unnamed route is refused by default");
    // This service's own routes keep their roles: a permission never opens an admin route.
    let admin_ish = token(&keys, Role::User, &entitled(&["admin-ish"], &["admin:*", "orders:*"]));
    let (allowed, _) =
        http_decision(&authorizer, &http_event("GET /admin/users", "GET", "/prod/admin/users", &admin_ish)).await;
    assert!(!allowed);
    let (allowed, _) = http_decision(&authorizer, &http_event("GET /auth/me", "GET", "/prod/auth/me", &nobody)).await;
    assert!(allowed, "any signed-in user reaches /auth/me");

    let open = orders_api(DefaultAccess::Allow);
    let lenient = Authorizer::new(&keys.verifier, None).guarding(&open);
    let (allowed, _) = http_decision(&lenient, &http_event("GET /reports", "GET", "/prod/reports", &nobody)).await;
    assert!(allowed, "ROUTE_PERMISSIONS_DEFAULT=allow lets any signed-in user in");
    let (allowed, _) =
        http_decision(&lenient, &http_event("GET /reports", "GET", "/prod/reports", "not-a-token")).await;
    assert!(!allowed, "but never without a good token");
    let (allowed, _) =
        http_decision(&lenient, &http_event("DELETE /orders/{id}", "DELETE", "/prod/orders/1", &nobody)).await;
    assert!(!allowed, "a named route still needs its permission");
}

/// A small deterministic generator (xorshift), so a failure names its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// IAM's string matching for resources: `*` any run of characters (`/` included), `?` one.
fn iam_matches(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.split_first(), text.split_first()) {
        (None, None) => true,
        (Some((b'*', rest)), _) => iam_matches(rest, text) || (!text.is_empty() && iam_matches(pattern, &text[1..])),
        (Some((b'?', rest)), Some((_, text))) => iam_matches(rest, text),
        (Some((expected, rest)), Some((actual, text))) => expected == actual && iam_matches(rest, text),
        _ => false,
    }
}

/// What IAM concludes from the policy for one call: allowed by a statement and denied by none.
fn policy_allows(policy: &Value, method: &str, path: &str) -> bool {
    let resource = format!("{STAGE}/{method}{path}");
    let mut allowed = false;
    for statement in policy["Statement"].as_array().unwrap() {
        let resources: Vec<&str> = match &statement["Resource"] {
            Value::Array(items) => items.iter().map(|item| item.as_str().unwrap()).collect(),
            Value::String(one) => vec![one.as_str()],
            other => panic!("{other}"),
        };
        if resources.iter().any(|pattern| iam_matches(pattern.as_bytes(), resource.as_bytes())) {
            match statement["Effect"].as_str().unwrap() {
                "Deny" => return false,
                _ => allowed = true,
            }
        }
    }
    allowed
}

#[tokio::test]
async fn a_rest_policy_decides_its_call_exactly_and_never_opens_another() {
    let keys = keys();
    let segments = ["a", "b", "orders", "{id}", "{proxy+}"];
    let permissions = ["p:read", "p:write", "q:read"];
    let held = ["p:read", "p:write", "q:read", "p:*", "q:re*"];
    let methods = ["GET", "POST", "DELETE"];
    let words = ["a", "b", "orders", "x"];
    let own_calls =
        [("GET", "/auth/me"), ("GET", "/admin/users"), ("PATCH", "/admin/users/u1"), ("DELETE", "/admin/users/u1/mfa")];
    let (mut checked, mut allowed_calls, mut cached_checks) = (0, 0, 0);
    for seed in 1..=200_u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut table = Vec::new();
        for _ in 0..1 + rng.below(6) {
            let depth = 1 + rng.below(3);
            let path: Vec<&str> = (0..depth)
                .map(|index| {
                    let segment = rng.pick(&segments);
                    if segment == "{proxy+}" && index + 1 < depth { "{id}" } else { segment }
                })
                .collect();
            let method = rng.pick(&["GET", "POST", "DELETE", "ANY"]);
            table.push((format!("{method} /{}", path.join("/")), rng.pick(&permissions)));
        }
        let pairs: Vec<(&str, &str)> = table.iter().map(|(key, permission)| (key.as_str(), *permission)).collect();
        let default = if rng.below(2) == 0 { DefaultAccess::Deny } else { DefaultAccess::Allow };
        let Ok(api) = ApiRoutes::new(&pairs, default) else { continue };
        let authorizer = Authorizer::new(&keys.verifier, None).guarding(&api);
        let role = if rng.below(3) == 0 { Role::Admin } else { Role::User };
        let mut names: Vec<&str> = held.iter().copied().filter(|_| rng.below(3) == 0).collect();
        names.dedup();
        let entitlements = entitled(&["generated"], &names);
        let access = token(&keys, role, &entitlements);

        let mut calls: Vec<(String, String)> =
            own_calls.iter().map(|(method, path)| ((*method).to_owned(), (*path).to_owned())).collect();
        for _ in 0..12 {
            let depth = 1 + rng.below(4);
            let path: Vec<&str> = (0..depth).map(|_| rng.pick(&words)).collect();
            calls.push((rng.pick(&methods).to_owned(), format!("/{}", path.join("/"))));
        }
        // What the route tables say each call needs, route by route as API Gateway picks it.
        let may = |method: &str, path: &str| match routes::find(method, path) {
            Some(route) => match route.access {
                Access::Bearer(required) => Some(role.satisfies(required)),
                Access::Public => None,
            },
            None => Some(match api.route_for(method, path) {
                Some(route) => entitlements.permissions.iter().any(|held| held.grants(&route.permission)),
                None => default == DefaultAccess::Allow,
            }),
        };
        for (method, path) in &calls {
            let Some(expected) = may(method, path) else { continue };
            let event = json!({ "type": "TOKEN", "authorizationToken": format!("Bearer {access}"),
                "methodArn": format!("{STAGE}/{method}{path}") });
            let response =
                serde_json::to_value(authorizer.handle(&event.to_string(), UnixTime::now()).await.unwrap()).unwrap();
            let policy = &response["policyDocument"];
            let context = format!("seed {seed}: {policy} for {role:?} {names:?} over {table:?} ({default:?})");
            assert_eq!(policy_allows(policy, method, path), expected, "{method} {path}: {context}");
            checked += 1;
            allowed_calls += usize::from(expected);
            // The same policy, cached and applied to every other call, opens nothing more.
            for (other_method, other_path) in &calls {
                if policy_allows(policy, other_method, other_path) {
                    assert_eq!(may(other_method, other_path), Some(true), "{other_method} {other_path} via {context}");
                }
                cached_checks += 1;
            }
        }
    }
    assert!(
        checked > 1_500 && allowed_calls > 300 && allowed_calls < checked,
        "both answers: {allowed_calls} of {checked}"
    );
    assert!(cached_checks > 20_000);
}

#[tokio::test]
async fn a_rest_call_with_a_wildcard_in_its_path_is_refused() {
    let keys = keys();
    let api = orders_api(DefaultAccess::Allow);
    let authorizer = Authorizer::new(&keys.verifier, None).guarding(&api);
    let access = token(&keys, Role::User, &entitled(&["ops"], &["orders:*"]));
    for path in ["/orders/*", "/orders/?", "/reports/*/x"] {
        let event = json!({ "type": "TOKEN", "authorizationToken": format!("Bearer {access}"),
            "methodArn": format!("{STAGE}/GET{path}") });
        let response =
            serde_json::to_value(authorizer.handle(&event.to_string(), UnixTime::now()).await.unwrap()).unwrap();
        assert_eq!(response["policyDocument"]["Statement"][0]["Effect"], "Deny", "{path}: {response}");
    }
}

#[tokio::test]
async fn the_guides_example_answers_as_its_table_says() {
    let guide =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/authorizing-your-api.md")).unwrap();
    let json = guide.split("```json\n").nth(1).and_then(|rest| rest.split("\n```").next()).unwrap();
    let table: serde_json::Map<String, Value> = serde_json::from_str(json).unwrap();
    let pairs: Vec<(&str, &str)> = table.iter().map(|(key, value)| (key.as_str(), value.as_str().unwrap())).collect();
    let api = ApiRoutes::new(&pairs, DefaultAccess::Deny).unwrap();
    let keys = keys();
    let authorizer = Authorizer::new(&keys.verifier, None).guarding(&api);
    let rows: Vec<Vec<&str>> = guide
        .lines()
        .skip_while(|line| !line.starts_with("| the token's permissions"))
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(|line| line.split('|').map(str::trim).filter(|cell| !cell.is_empty()).collect())
        .collect();
    assert!(rows.len() >= 5, "{rows:?}");
    for row in rows {
        let permissions: Vec<&str> = row[0].split('`').filter(|part| part.contains(':')).collect();
        let (method, path) = row[1].trim_matches('`').split_once(' ').unwrap();
        let access = token(&keys, Role::User, &entitled(&["reader"], &permissions));
        let (allowed, _) =
            http_decision(&authorizer, &http_event("$default", method, &format!("/prod{path}"), &access)).await;
        assert_eq!(allowed, row[2] == "allowed", "{row:?}");
    }
}

#[test]
fn the_largest_roles_and_claims_keep_an_access_token_well_below_the_verifiers_limit() {
    use shared::domain::{CustomClaims, MAX_CLAIMS_BYTES, MAX_ENTITLEMENT_BYTES, MAX_TOKEN_PERMISSIONS};
    let keys = keys();
    let now = UnixTime::now();
    let issue = |user: &shared::domain::User, entitlements: &Entitlements| {
        let grant = keys.issuer.next_refresh(uuid::Uuid::new_v4().to_string(), now);
        keys.issuer.issue(user, entitlements, &grant, now).unwrap().access_token
    };
    let plain = e2e::fixed_user(Role::User);
    for count in [0, 1, 10, 64] {
        let names: Vec<String> = (0..count).map(|n| format!("orders:action{n:02}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let roles: &[&str] = if count == 0 { &[] } else { &["support"] };
        println!("{count} permissions (orders:actionNN): {} bytes", issue(&plain, &entitled(roles, &names)).len());
    }
    // At the limits: the most permissions, or the longest, and custom claims filling the rest
    // of the budget they share.
    let many: Vec<String> = (0..MAX_TOKEN_PERMISSIONS).map(|n| format!("p{n:02}")).collect();
    let long: Vec<String> = (0..(MAX_ENTITLEMENT_BYTES - 4) / 67).map(|n| format!("{n:0>64}")).collect();
    for names in [many, long] {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let entitlements = entitled(&["r"], &names);
        let used: usize = 4 + names.iter().map(|name| name.len() + 3).sum::<usize>();
        let filler = "x".repeat(MAX_CLAIMS_BYTES - used - r#"{"note":""}"#.len());
        let user =
            shared::domain::User { claims: CustomClaims::parse(json!({ "note": filler })).unwrap(), ..plain.clone() };
        entitlements.fit_with(&user.claims).expect("at the limits, not past them");
        let token = issue(&user, &entitlements);
        println!("{} permissions and claims at the shared limit: {} bytes", names.len(), token.len());
        assert!(token.len() <= 3584, "{} bytes", token.len());
        assert!(keys.verifier.verify_access(&token, now).is_ok());
        let over = CustomClaims::parse(json!({ "note": format!("{filler}x") })).unwrap();
        assert!(entitlements.fit_with(&over).is_err(), "one byte more is refused");
    }
}
