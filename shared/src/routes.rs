//! The one route table: what the local API serves, what the authorizer enforces, and what
//! `template.yaml` must declare (a test checks the template against it).

use crate::domain::Role;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Register,
    Login,
    Refresh,
    Logout,
    Me,
    Jwks,
    ChangePassword,
    ListUsers,
    GetUser,
    UpdateUser,
    VerifyEmail,
    ResendVerification,
    ForgotPassword,
    ResetPassword,
    ChangeEmail,
    ListSessions,
    EndSession,
    ListUserSessions,
    EndUserSessions,
    StartMfaEnrolment,
    ConfirmMfaEnrolment,
    DisableMfa,
    VerifyMfa,
    RemoveUserMfa,
    ListRoles,
    GetRole,
    PutRole,
    DeleteRole,
    DeleteAccount,
    DeleteUser,
    Discovery,
    Revoke,
    Introspect,
    OAuthProviders,
    OAuthAuthorize,
    OAuthCallback,
    OAuthToken,
    ListIdentities,
    LinkIdentity,
    UnlinkIdentity,
    PasskeyRegistrationOptions,
    RegisterPasskey,
    PasskeyLoginOptions,
    PasskeyLogin,
    ListPasskeys,
    RenamePasskey,
    DeletePasskey,
    ListUserPasskeys,
    DeleteUserPasskey,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// No authorizer in front.
    Public,
    /// The authorizer requires a valid access token whose role satisfies this one.
    Bearer(Role),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    /// The API Gateway path template: `{name}` matches one segment.
    pub path: &'static str,
    pub endpoint: Endpoint,
    pub access: Access,
    /// The Lambda function (binary) that serves it.
    pub function: &'static str,
}

pub const ROUTES: &[Route] = &[
    Route {
        method: "POST",
        path: "/auth/register",
        endpoint: Endpoint::Register,
        access: Access::Public,
        function: "register",
    },
    Route { method: "POST", path: "/auth/login", endpoint: Endpoint::Login, access: Access::Public, function: "login" },
    Route {
        method: "POST",
        path: "/auth/refresh",
        endpoint: Endpoint::Refresh,
        access: Access::Public,
        function: "refresh",
    },
    Route {
        method: "POST",
        path: "/auth/logout",
        endpoint: Endpoint::Logout,
        access: Access::Public,
        function: "logout",
    },
    Route {
        method: "GET",
        path: "/auth/me",
        endpoint: Endpoint::Me,
        access: Access::Bearer(Role::User),
        function: "me",
    },
    Route {
        method: "GET",
        path: "/.well-known/jwks.json",
        endpoint: Endpoint::Jwks,
        access: Access::Public,
        function: "jwks",
    },
    Route {
        method: "POST",
        path: "/auth/password",
        endpoint: Endpoint::ChangePassword,
        access: Access::Bearer(Role::User),
        function: "change-password",
    },
    Route {
        method: "GET",
        path: "/admin/users",
        endpoint: Endpoint::ListUsers,
        access: Access::Bearer(Role::Admin),
        function: "admin-list-users",
    },
    Route {
        method: "GET",
        path: "/admin/users/{id}",
        endpoint: Endpoint::GetUser,
        access: Access::Bearer(Role::Admin),
        function: "admin-get-user",
    },
    Route {
        method: "PATCH",
        path: "/admin/users/{id}",
        endpoint: Endpoint::UpdateUser,
        access: Access::Bearer(Role::Admin),
        function: "admin-update-user",
    },
    Route {
        method: "POST",
        path: "/auth/email/verify",
        endpoint: Endpoint::VerifyEmail,
        access: Access::Public,
        function: "account-recovery",
    },
    Route {
        method: "POST",
        path: "/auth/email/verify/resend",
        endpoint: Endpoint::ResendVerification,
        access: Access::Public,
        function: "account-recovery",
    },
    Route {
        method: "POST",
        path: "/auth/password/forgot",
        endpoint: Endpoint::ForgotPassword,
        access: Access::Public,
        function: "account-recovery",
    },
    Route {
        method: "POST",
        path: "/auth/password/reset",
        endpoint: Endpoint::ResetPassword,
        access: Access::Public,
        function: "account-recovery",
    },
    Route {
        method: "POST",
        path: "/auth/email",
        endpoint: Endpoint::ChangeEmail,
        access: Access::Bearer(Role::User),
        function: "change-email",
    },
    Route {
        method: "GET",
        path: "/auth/sessions",
        endpoint: Endpoint::ListSessions,
        access: Access::Bearer(Role::User),
        function: "sessions",
    },
    Route {
        method: "DELETE",
        path: "/auth/sessions/{id}",
        endpoint: Endpoint::EndSession,
        access: Access::Bearer(Role::User),
        function: "sessions",
    },
    Route {
        method: "GET",
        path: "/admin/users/{id}/sessions",
        endpoint: Endpoint::ListUserSessions,
        access: Access::Bearer(Role::Admin),
        function: "admin-user-sessions",
    },
    Route {
        method: "DELETE",
        path: "/admin/users/{id}/sessions",
        endpoint: Endpoint::EndUserSessions,
        access: Access::Bearer(Role::Admin),
        function: "admin-user-sessions",
    },
    Route {
        method: "POST",
        path: "/auth/mfa/totp",
        endpoint: Endpoint::StartMfaEnrolment,
        access: Access::Bearer(Role::User),
        function: "mfa",
    },
    Route {
        method: "POST",
        path: "/auth/mfa/totp/confirm",
        endpoint: Endpoint::ConfirmMfaEnrolment,
        access: Access::Bearer(Role::User),
        // It renews the caller's session, so it signs: with the login's second step.
        function: "mfa-verify",
    },
    Route {
        method: "DELETE",
        path: "/auth/mfa/totp",
        endpoint: Endpoint::DisableMfa,
        access: Access::Bearer(Role::User),
        function: "mfa",
    },
    Route {
        method: "DELETE",
        path: "/admin/users/{id}/mfa",
        endpoint: Endpoint::RemoveUserMfa,
        access: Access::Bearer(Role::Admin),
        function: "mfa",
    },
    Route {
        method: "DELETE",
        path: "/auth/me",
        endpoint: Endpoint::DeleteAccount,
        access: Access::Bearer(Role::User),
        function: "delete-account",
    },
    Route {
        method: "DELETE",
        path: "/admin/users/{id}",
        endpoint: Endpoint::DeleteUser,
        access: Access::Bearer(Role::Admin),
        function: "delete-account",
    },
    Route {
        method: "GET",
        path: "/admin/roles",
        endpoint: Endpoint::ListRoles,
        access: Access::Bearer(Role::Admin),
        function: "admin-roles",
    },
    Route {
        method: "GET",
        path: "/admin/roles/{name}",
        endpoint: Endpoint::GetRole,
        access: Access::Bearer(Role::Admin),
        function: "admin-roles",
    },
    Route {
        method: "PUT",
        path: "/admin/roles/{name}",
        endpoint: Endpoint::PutRole,
        access: Access::Bearer(Role::Admin),
        function: "admin-roles",
    },
    Route {
        method: "DELETE",
        path: "/admin/roles/{name}",
        endpoint: Endpoint::DeleteRole,
        access: Access::Bearer(Role::Admin),
        function: "admin-roles",
    },
    Route {
        method: "POST",
        path: "/auth/mfa/verify",
        endpoint: Endpoint::VerifyMfa,
        access: Access::Public,
        function: "mfa-verify",
    },
    Route {
        method: "GET",
        path: "/.well-known/openid-configuration",
        endpoint: Endpoint::Discovery,
        access: Access::Public,
        function: "jwks",
    },
    // RFC 7009 and RFC 7662: form-encoded bodies; the token (or, for introspection, HTTP Basic
    // client credentials) is the authentication.
    Route {
        method: "POST",
        path: "/auth/revoke",
        endpoint: Endpoint::Revoke,
        access: Access::Public,
        function: "revoke",
    },
    Route {
        method: "POST",
        path: "/auth/introspect",
        endpoint: Endpoint::Introspect,
        access: Access::Public,
        function: "introspect",
    },
    // Federation: the redirect to a provider and its callback, in the `oauth` function with the
    // providers' secrets; the login code's trade, which signs, in `oauth-token` without them.
    Route {
        method: "GET",
        path: "/auth/oauth/providers",
        endpoint: Endpoint::OAuthProviders,
        access: Access::Public,
        function: "oauth",
    },
    Route {
        method: "GET",
        path: "/auth/oauth/{provider}/authorize",
        endpoint: Endpoint::OAuthAuthorize,
        access: Access::Public,
        function: "oauth",
    },
    Route {
        method: "GET",
        path: "/auth/oauth/{provider}/callback",
        endpoint: Endpoint::OAuthCallback,
        access: Access::Public,
        function: "oauth",
    },
    // Apple answers with `response_mode=form_post`.
    Route {
        method: "POST",
        path: "/auth/oauth/{provider}/callback",
        endpoint: Endpoint::OAuthCallback,
        access: Access::Public,
        function: "oauth",
    },
    Route {
        method: "POST",
        path: "/auth/oauth/token",
        endpoint: Endpoint::OAuthToken,
        access: Access::Public,
        function: "oauth-token",
    },
    Route {
        method: "GET",
        path: "/auth/identities",
        endpoint: Endpoint::ListIdentities,
        access: Access::Bearer(Role::User),
        function: "oauth",
    },
    Route {
        method: "POST",
        path: "/auth/identities/{provider}",
        endpoint: Endpoint::LinkIdentity,
        access: Access::Bearer(Role::User),
        function: "oauth",
    },
    Route {
        method: "DELETE",
        path: "/auth/identities/{provider}",
        endpoint: Endpoint::UnlinkIdentity,
        access: Access::Bearer(Role::User),
        function: "oauth",
    },
    Route {
        method: "POST",
        path: "/auth/passkeys/register/options",
        endpoint: Endpoint::PasskeyRegistrationOptions,
        access: Access::Bearer(Role::User),
        function: "passkeys",
    },
    Route {
        method: "POST",
        path: "/auth/passkeys/register",
        endpoint: Endpoint::RegisterPasskey,
        access: Access::Bearer(Role::User),
        function: "passkeys",
    },
    Route {
        method: "GET",
        path: "/auth/passkeys",
        endpoint: Endpoint::ListPasskeys,
        access: Access::Bearer(Role::User),
        function: "passkeys",
    },
    Route {
        method: "PATCH",
        path: "/auth/passkeys/{id}",
        endpoint: Endpoint::RenamePasskey,
        access: Access::Bearer(Role::User),
        function: "passkeys",
    },
    Route {
        method: "DELETE",
        path: "/auth/passkeys/{id}",
        endpoint: Endpoint::DeletePasskey,
        access: Access::Bearer(Role::User),
        function: "passkeys",
    },
    Route {
        method: "GET",
        path: "/admin/users/{id}/passkeys",
        endpoint: Endpoint::ListUserPasskeys,
        access: Access::Bearer(Role::Admin),
        function: "passkeys",
    },
    Route {
        method: "DELETE",
        path: "/admin/users/{id}/passkeys/{passkey_id}",
        endpoint: Endpoint::DeleteUserPasskey,
        access: Access::Bearer(Role::Admin),
        function: "passkeys",
    },
    Route {
        method: "POST",
        path: "/auth/passkeys/login/options",
        endpoint: Endpoint::PasskeyLoginOptions,
        access: Access::Public,
        function: "passkey-login",
    },
    Route {
        method: "POST",
        path: "/auth/passkeys/login",
        endpoint: Endpoint::PasskeyLogin,
        access: Access::Public,
        function: "passkey-login",
    },
];

impl Route {
    /// API Gateway's route key, e.g. `GET /auth/me`.
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    fn matches_path(&self, path: &str) -> bool {
        let mut template = self.path.split('/');
        let mut actual = path.split('/');
        loop {
            match (template.next(), actual.next()) {
                (None, None) => return true,
                (Some(expected), Some(segment)) if is_parameter(expected) => {
                    if segment.is_empty() {
                        return false;
                    }
                }
                (Some(expected), Some(segment)) if expected == segment => {}
                _ => return false,
            }
        }
    }

    /// The value of the path's one `{parameter}` (e.g. the `{id}` of `/admin/users/{id}/sessions`),
    /// read from the end of the path, so that a stage prefix does not matter.
    pub fn parameter<'a>(&self, path: &'a str) -> Option<&'a str> {
        self.path
            .rsplit('/')
            .zip(path.rsplit('/'))
            .find(|(expected, _)| is_parameter(expected))
            .map(|(_, segment)| segment)
            .filter(|segment| !segment.is_empty())
    }
}

impl Route {
    /// The values of every `{parameter}` of the path, in the template's order, read from the
    /// end of the path as [`Route::parameter`] reads one.
    pub fn parameters<'a>(&self, path: &'a str) -> Vec<&'a str> {
        let mut values: Vec<&str> = self
            .path
            .rsplit('/')
            .zip(path.rsplit('/'))
            .filter(|(expected, _)| is_parameter(expected))
            .map(|(_, segment)| segment)
            .collect();
        values.reverse();
        values
    }
}

fn is_parameter(segment: &str) -> bool {
    segment.starts_with('{') && segment.ends_with('}')
}

/// The routes a request path falls under, whatever their method.
fn find_path(path: &str) -> impl Iterator<Item = &'static Route> + '_ {
    ROUTES.iter().filter(move |route| route.matches_path(path))
}

pub fn find(method: &str, path: &str) -> Option<&'static Route> {
    find_path(path).find(|route| route.method.eq_ignore_ascii_case(method))
}

/// The route of `function` a request falls under, whatever prefix (a stage, a custom domain's
/// base path) precedes the route's own path.
pub fn of_function(function: &str, method: &str, path: &str) -> Option<&'static Route> {
    let tails = || path.match_indices('/').map(|(start, _)| &path[start..]);
    ROUTES
        .iter()
        .filter(|route| route.function == function && route.method.eq_ignore_ascii_case(method))
        .find(|route| tails().any(|tail| route.matches_path(tail)))
}

/// The route an authorizer event names by route key (`GET /auth/me`).
pub fn by_route_key(route_key: &str) -> Option<&'static Route> {
    let (method, path) = route_key.split_once(' ')?;
    ROUTES.iter().find(|route| route.method == method && route.path == path)
}

#[cfg(test)]
mod tests;
