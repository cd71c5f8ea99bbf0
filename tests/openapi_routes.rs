//! `openapi.yaml` must describe exactly the routes of `shared::routes::ROUTES` (same methods and
//! paths), and a bearer security requirement on exactly the protected ones, so a client generated
//! from it can trust it (as `template.rs` ties the template to the same table).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use shared::routes::{Access, ROUTES};

/// (METHOD, path) → whether the operation requires a bearer scheme (a `security` list naming
/// one, with no anonymous `{}` alternative), for every operation under `paths:`. A line-based read
/// is enough for the document's regular shape (paths at two spaces, methods at four, an
/// operation's own keys at six).
fn documented_operations() -> BTreeMap<(String, String), bool> {
    let text = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../openapi.yaml")).unwrap();
    let mut security: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let (mut in_paths, mut path, mut current) = (false, String::new(), None::<(String, String)>);
    let mut in_security = false;
    for line in text.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() {
            in_paths = line.starts_with("paths:");
            current = None;
            continue;
        }
        if !in_paths {
            continue;
        }
        if let Some(key) = line.strip_prefix("  ").filter(|rest| rest.starts_with('/')) {
            path = key.trim_end_matches(':').to_owned();
            current = None;
        } else if let Some(method) =
            line.strip_prefix("    ").filter(|rest| !rest.starts_with(' ')).and_then(|rest| rest.strip_suffix(':'))
        {
            current = ["get", "post", "put", "patch", "delete"].contains(&method).then(|| {
                let key = (method.to_uppercase(), path.clone());
                security.insert(key.clone(), Vec::new());
                key
            });
            in_security = false;
        } else if let Some(key) = &current {
            match line.strip_prefix("      ").filter(|rest| !rest.starts_with(' ')) {
                Some(own_key) => {
                    in_security = own_key.starts_with("security:");
                    if let Some(inline) = own_key.strip_prefix("security:").map(str::trim).filter(|v| !v.is_empty()) {
                        security.entry(key.clone()).or_default().push(inline.to_owned());
                    }
                }
                None if in_security => security.entry(key.clone()).or_default().push(line.trim().to_owned()),
                None => {}
            }
        }
    }
    security
        .into_iter()
        .map(|(key, requirements)| {
            let bearer = requirements.iter().any(|requirement| requirement.to_lowercase().contains("bearer"));
            let anonymous = requirements.iter().any(|requirement| requirement == "- {}" || requirement == "[]");
            (key, bearer && !anonymous)
        })
        .collect()
}

#[test]
fn openapi_describes_the_route_table() {
    let documented = documented_operations();
    let expected: BTreeSet<(String, String)> =
        ROUTES.iter().map(|route| (route.method.to_owned(), route.path.to_owned())).collect();
    let described: BTreeSet<(String, String)> = documented.keys().cloned().collect();
    assert_eq!(described, expected, "openapi.yaml's operations and the route table differ");
    for route in ROUTES {
        let protected = matches!(route.access, Access::Bearer(_));
        let requires_bearer = documented[&(route.method.to_owned(), route.path.to_owned())];
        assert_eq!(requires_bearer, protected, "{} {}: bearer security in openapi.yaml", route.method, route.path);
    }
}
