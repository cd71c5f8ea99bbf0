//! The route table's lookups.

use super::*;

#[test]
fn finds_routes_by_method_and_path() {
    assert_eq!(find("POST", "/auth/login").unwrap().endpoint, Endpoint::Login);
    assert_eq!(find("GET", "/auth/me").unwrap().access, Access::Bearer(Role::User));
    assert!(find("GET", "/auth/login").is_none());
    assert!(find("GET", "/auth/me/extra").is_none());
    assert!(find("GET", "/nothing").is_none());
    assert_eq!(find("PATCH", "/admin/users/0190a5b2").unwrap().endpoint, Endpoint::UpdateUser);
    assert_eq!(find("GET", "/admin/users").unwrap().access, Access::Bearer(Role::Admin));
    assert!(find("GET", "/admin/users/").is_none());
    assert!(find("GET", "/admin/users/a/b").is_none());
}

#[test]
fn a_function_of_several_routes_finds_its_own_whatever_the_stage() {
    let verify = of_function("account-recovery", "POST", "/prod/auth/email/verify").unwrap();
    assert_eq!(verify.endpoint, Endpoint::VerifyEmail);
    assert_eq!(
        of_function("account-recovery", "POST", "/auth/email/verify/resend").unwrap().endpoint,
        Endpoint::ResendVerification
    );
    assert_eq!(
        of_function("account-recovery", "POST", "/auth/password/reset").unwrap().endpoint,
        Endpoint::ResetPassword
    );
    assert!(of_function("account-recovery", "POST", "/auth/login").is_none());
    assert!(of_function("account-recovery", "GET", "/auth/password/reset").is_none());
    assert!(of_function("account-recovery", "POST", "/x/auth/password/resetx").is_none());
    assert!(of_function("account-recovery", "POST", "/a/b/auth/password/reset").is_some());
}

#[test]
fn templated_routes_are_found_and_give_their_parameter() {
    let end = of_function("sessions", "DELETE", "/prod/auth/sessions/abc").unwrap();
    assert_eq!(end.endpoint, Endpoint::EndSession);
    assert_eq!(end.parameter("/prod/auth/sessions/abc"), Some("abc"));
    assert_eq!(of_function("sessions", "GET", "/auth/sessions").unwrap().endpoint, Endpoint::ListSessions);
    assert!(of_function("sessions", "DELETE", "/auth/sessions/").is_none());
    assert!(of_function("sessions", "DELETE", "/auth/sessions/a/b").is_none());
    let admin = of_function("admin-user-sessions", "GET", "/admin/users/u1/sessions").unwrap();
    assert_eq!(admin.endpoint, Endpoint::ListUserSessions);
    assert_eq!(admin.parameter("/prod/admin/users/u1/sessions"), Some("u1"));
    assert!(of_function("admin-user-sessions", "GET", "/admin/users/u1").is_none());
}

#[test]
fn route_keys_round_trip() {
    for route in ROUTES {
        assert_eq!(by_route_key(&route.key()), Some(route));
    }
    assert!(by_route_key("GET /admin/everything").is_none());
    assert!(by_route_key("garbage").is_none());
}
