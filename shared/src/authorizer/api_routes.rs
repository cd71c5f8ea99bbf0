//! The routes of the deployer's own API and the permission each requires (`ROUTE_PERMISSIONS`),
//! matched as API Gateway matches routes, and what happens on a route the table does not name
//! (`ROUTE_PERMISSIONS_DEFAULT`).

use crate::config::{ConfigError, Env};
use crate::domain::Permission;
use crate::routes;

const METHODS: [&str; 8] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"];

/// A signed-in caller on a route the table does not name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DefaultAccess {
    /// Any valid access token passes.
    Allow,
    /// Refused: only the routes named in the table (and this service's own) are open.
    #[default]
    Deny,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `{name}`: one segment.
    Param,
    /// `{name+}`, last only: one or more segments.
    Greedy,
}

/// One route of the deployer's API: `GET /orders/{id}` and the permission it requires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiRoute {
    /// Upper case; `ANY` matches every method no other route of the path names.
    pub method: String,
    segments: Vec<Segment>,
    pub permission: Permission,
}

/// The deployer's route table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApiRoutes {
    routes: Vec<ApiRoute>,
    pub default: DefaultAccess,
}

/// No routes of the deployer's: the authorizer guards this service's own routes only.
pub(super) static NO_API_ROUTES: ApiRoutes = ApiRoutes { routes: Vec::new(), default: DefaultAccess::Deny };

impl ApiRoute {
    /// `METHOD /path/{param}/{proxy+}`, as API Gateway writes a route key.
    fn parse(key: &str, permission: &str) -> Result<Self, String> {
        let (method, path) = key.split_once(' ').ok_or_else(|| format!("{key:?} is not \"METHOD /path\""))?;
        if !METHODS.contains(&method) {
            return Err(format!("{key:?}: the method must be one of {}", METHODS.join(", ")));
        }
        let segments = path_segments(path).ok_or_else(|| format!("{key:?}: not an API Gateway path"))?;
        if routes::by_route_key(key).is_some() {
            return Err(format!("{key:?} is one of this service's own routes, which keep their roles"));
        }
        let permission = Permission::parse(permission).map_err(|error| format!("{key:?}: {error}"))?;
        if !permission.is_concrete() {
            return Err(format!("{key:?}: a route requires one permission, without '*'"));
        }
        Ok(Self { method: method.to_owned(), segments, permission })
    }

    fn matches(&self, method: &str, path: &[&str]) -> bool {
        (self.method == "ANY" || self.method == method) && segments_match(&self.segments, path)
    }

    /// How specific the route is, for the most specific match to win as in API Gateway: at the
    /// first segment where two routes differ a literal beats a parameter, which beats a greedy
    /// one; then a named method beats `ANY`.
    fn specificity(&self) -> (Vec<u8>, bool) {
        let ranks = self
            .segments
            .iter()
            .map(|segment| match segment {
                Segment::Literal(_) => 2,
                Segment::Param => 1,
                Segment::Greedy => 0,
            })
            .collect();
        (ranks, self.method != "ANY")
    }
}

fn path_segments(path: &str) -> Option<Vec<Segment>> {
    let rest = path.strip_prefix('/')?;
    if rest.is_empty() {
        return Some(Vec::new());
    }
    let parts: Vec<&str> = rest.split('/').collect();
    let last = parts.len() - 1;
    parts
        .iter()
        .enumerate()
        .map(|(index, part)| match part.strip_prefix('{').and_then(|part| part.strip_suffix('}')) {
            Some(name) if index == last && name.strip_suffix('+').is_some_and(is_name) => Some(Segment::Greedy),
            Some(name) if is_name(name) => Some(Segment::Param),
            Some(_) => None,
            None if !part.is_empty() && !part.contains(['{', '}', '*', ' ']) => {
                Some(Segment::Literal((*part).to_owned()))
            }
            None => None,
        })
        .collect()
}

fn is_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
}

fn segments_match(pattern: &[Segment], path: &[&str]) -> bool {
    match (pattern.split_first(), path.split_first()) {
        (None, None) => true,
        (Some((Segment::Greedy, _)), Some(_)) => true,
        (Some((Segment::Param, pattern)), Some((part, path))) => !part.is_empty() && segments_match(pattern, path),
        (Some((Segment::Literal(text), pattern)), Some((part, path))) => text == part && segments_match(pattern, path),
        _ => false,
    }
}

impl ApiRoutes {
    /// `ROUTE_PERMISSIONS` (a JSON object, `"METHOD /path": "permission"`) and
    /// `ROUTE_PERMISSIONS_DEFAULT` (`allow` or `deny`, the default).
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let default = match env.get("ROUTE_PERMISSIONS_DEFAULT").map(str::to_ascii_lowercase).as_deref() {
            None | Some("" | "deny") => DefaultAccess::Deny,
            Some("allow") => DefaultAccess::Allow,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "ROUTE_PERMISSIONS_DEFAULT",
                    reason: "must be allow or deny".into(),
                });
            }
        };
        let routes = match env.get("ROUTE_PERMISSIONS").map(str::trim).filter(|raw| !raw.is_empty()) {
            None => Vec::new(),
            Some(raw) => {
                Self::parse_table(raw).map_err(|reason| ConfigError::Invalid { name: "ROUTE_PERMISSIONS", reason })?
            }
        };
        Ok(Self { routes, default })
    }

    fn parse_table(raw: &str) -> Result<Vec<ApiRoute>, String> {
        let table: serde_json::Map<String, serde_json::Value> = serde_json::from_str(raw)
            .map_err(|_| "must be a JSON object of \"METHOD /path\": \"permission\"".to_owned())?;
        let pairs = table
            .iter()
            .map(|(key, permission)| {
                let permission =
                    permission.as_str().ok_or_else(|| format!("{key:?}: the permission must be a string"))?;
                Ok((key.as_str(), permission))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Self::parse_routes(&pairs)
    }

    fn parse_routes(pairs: &[(&str, &str)]) -> Result<Vec<ApiRoute>, String> {
        let mut routes: Vec<ApiRoute> = Vec::with_capacity(pairs.len());
        for (key, permission) in pairs {
            let route = ApiRoute::parse(key, permission)?;
            // `/orders/{id}` and `/orders/{orderId}` are one route to API Gateway.
            if routes.iter().any(|other| other.method == route.method && other.segments == route.segments) {
                return Err(format!("{key:?}: the same route is named twice"));
            }
            routes.push(route);
        }
        Ok(routes)
    }

    pub fn new(routes: &[(&str, &str)], default: DefaultAccess) -> Result<Self, String> {
        Ok(Self { routes: Self::parse_routes(routes)?, default })
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The route a request reaches, if the table names one: the most specific match.
    pub fn route_for(&self, method: &str, path: &str) -> Option<&ApiRoute> {
        let parts: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
        let parts: &[&str] = if parts == [""] { &[] } else { &parts };
        self.routes.iter().filter(|route| route.matches(method, parts)).max_by_key(|route| route.specificity())
    }

    /// The route a route key names exactly (`GET /orders/{id}`), as HTTP API sends it.
    pub fn route_by_key(&self, route_key: &str) -> Option<&ApiRoute> {
        let (method, path) = route_key.split_once(' ')?;
        let segments = path_segments(path)?;
        self.routes.iter().find(|route| route.method == method && route.segments == segments)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: [(&str, &str); 8] = [
        ("GET /orders", "orders:read"),
        ("POST /orders", "orders:write"),
        ("GET /orders/{id}", "orders:read"),
        ("GET /orders/export", "orders:export"),
        ("ANY /files/{proxy+}", "files:use"),
        ("DELETE /files/{proxy+}", "files:delete"),
        ("GET /files/{name}", "files:read"),
        ("GET /", "home:read"),
    ];

    fn table(default: DefaultAccess) -> ApiRoutes {
        ApiRoutes::new(&TABLE, default).unwrap()
    }

    /// The table in both orders: which route wins never depends on where it is listed.
    fn both_orders() -> [ApiRoutes; 2] {
        let mut reversed = TABLE;
        reversed.reverse();
        [table(DefaultAccess::Deny), ApiRoutes::new(&reversed, DefaultAccess::Deny).unwrap()]
    }

    fn permission_for(routes: &ApiRoutes, method: &str, path: &str) -> Option<String> {
        routes.route_for(method, path).map(|route| route.permission.to_string())
    }

    #[test]
    fn the_most_specific_route_wins_as_in_api_gateway() {
        for routes in both_orders() {
            assert_eq!(permission_for(&routes, "GET", "/orders").as_deref(), Some("orders:read"));
            assert_eq!(permission_for(&routes, "POST", "/orders").as_deref(), Some("orders:write"));
            assert_eq!(permission_for(&routes, "GET", "/orders/42").as_deref(), Some("orders:read"));
            assert_eq!(permission_for(&routes, "GET", "/orders/export").as_deref(), Some("orders:export"));
            assert_eq!(permission_for(&routes, "GET", "/orders/42/items"), None, "a parameter is one segment");
            assert_eq!(permission_for(&routes, "PUT", "/orders"), None);
            assert_eq!(permission_for(&routes, "GET", "/files/a/b/c").as_deref(), Some("files:use"));
            assert_eq!(
                permission_for(&routes, "GET", "/files/a").as_deref(),
                Some("files:read"),
                "a parameter beats greedy"
            );
            assert_eq!(permission_for(&routes, "POST", "/files/a").as_deref(), Some("files:use"));
            assert_eq!(permission_for(&routes, "DELETE", "/files/a/b").as_deref(), Some("files:delete"));
            assert_eq!(
                permission_for(&routes, "DELETE", "/files/a").as_deref(),
                Some("files:delete"),
                "a method beats ANY"
            );
            assert_eq!(permission_for(&routes, "GET", "/files"), None, "a greedy parameter needs a segment");
            assert_eq!(permission_for(&routes, "GET", "/").as_deref(), Some("home:read"));
        }
        let routes = table(DefaultAccess::Deny);
        assert_eq!(routes.route_by_key("GET /orders/{id}").map(|route| route.permission.as_str()), Some("orders:read"));
        assert_eq!(
            routes.route_by_key("GET /orders/{orderId}").map(|route| route.permission.as_str()),
            Some("orders:read")
        );
        assert!(routes.route_by_key("GET /nothing").is_none());
    }

    #[test]
    fn a_bad_table_is_refused_at_start_with_its_reason() {
        let refused = |raw: &str| {
            let env = Env::from_pairs([("ROUTE_PERMISSIONS", raw)]);
            match ApiRoutes::from_env(&env) {
                Err(ConfigError::Invalid { name: "ROUTE_PERMISSIONS", reason }) => reason,
                other => panic!("{raw}: {other:?}"),
            }
        };
        assert!(refused("[]").contains("JSON object"));
        assert!(refused(r#"{"GET orders": "a"}"#).contains("not an API Gateway path"));
        assert!(refused(r#"{"FETCH /orders": "a"}"#).contains("method"));
        assert!(refused(r#"{"GET /orders": "Orders"}"#).contains("permission"));
        assert!(refused(r#"{"GET /orders": "orders:*"}"#).contains("without '*'"));
        assert!(refused(r#"{"GET /orders": 3}"#).contains("string"));
        assert!(refused(r#"{"GET /a/{proxy+}/b": "a"}"#).contains("path"));
        for fine in ["GET /o/{order_id}", "GET /o/{order-id}/x", "GET /o/{Id2}"] {
            assert!(ApiRoutes::new(&[(fine, "a")], DefaultAccess::Deny).is_ok(), "{fine}");
        }
        for path in ["/orders/*", "/orders//x", "/a{b", "/a}b", "/or ders", "/{}", "/{a b}", "orders"] {
            let table = format!(r#"{{"GET {path}": "a"}}"#);
            assert!(refused(&table).contains("path"), "{path}");
        }
        assert!(refused(r#"{"GET /auth/me": "a"}"#).contains("own routes"));
        assert!(refused(r#"{"GET /o/{id}": "a", "GET /o/{key}": "b"}"#).contains("twice"));
        let env = Env::from_pairs([("ROUTE_PERMISSIONS_DEFAULT", "maybe")]);
        assert!(ApiRoutes::from_env(&env).is_err());
        let env = Env::from_pairs([("ROUTE_PERMISSIONS_DEFAULT", "ALLOW")]);
        assert_eq!(ApiRoutes::from_env(&env).unwrap().default, DefaultAccess::Allow);
        assert_eq!(ApiRoutes::from_env(&Env::from_pairs([])).unwrap(), ApiRoutes::default());
    }
}
