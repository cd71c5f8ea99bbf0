//! The local API's HTTP layer: every contract route through `shared::gateway` (API Gateway's
//! semantics), the small web page under `web/`, and CORS for the configured origins, answered
//! the way the template has API Gateway answer it.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use shared::credentials::{AllowedOrigins, CSRF_HEADER};
use shared::email::Outbox;
use shared::error::ApiError;
use shared::events::MemoryEvents;
use shared::gateway::Gateway;
use shared::http::{ApiRequest, MAX_BODY_BYTES, json_response, problem};
use tower_http::cors::{AllowOrigin, CorsLayer};

const INDEX_HTML: &str = include_str!("../../web/index.html");
const APP_JS: &str = include_str!("../../web/app.js");
const APP_CSS: &str = include_str!("../../web/app.css");
/// The page loads only its own script and talks only to its own origin; no framing.
/// Images may also be `data:` URLs: the MFA enrolment shows its QR code (an SVG) as one.
const PAGE_CSP: &str =
    "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The same preflight answer as the template's `CorsConfiguration`: the listed origins only,
/// with credentials, for the headers the API reads.
pub fn cors_layer(origins: &AllowedOrigins) -> CorsLayer {
    let origins: Vec<HeaderValue> =
        origins.as_slice().iter().filter_map(|origin| HeaderValue::from_str(origin).ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([
            axum::http::header::AUTHORIZATION,
            axum::http::header::CONTENT_TYPE,
            HeaderName::from_static(CSRF_HEADER),
        ])
        .max_age(std::time::Duration::from_secs(600))
}

/// What the local API shows of itself, and no function serves: the mail the `log` sender kept
/// (`GET /_dev/outbox`) and the lifecycle events when no bus is configured (`GET /_dev/events`).
#[derive(Default)]
pub struct DevViews {
    pub outbox: Option<Outbox>,
    pub events: Option<MemoryEvents>,
}

/// The API, the page (also at the paths the mailed links open), and the [`DevViews`].
pub fn router(gateway: Arc<Gateway>, origins: &AllowedOrigins, dev: DevViews) -> Router {
    let index = || async { page("text/html; charset=utf-8", INDEX_HTML) };
    let mut router = Router::new()
        .route("/", get(index))
        .route("/verify-email", get(index))
        .route("/reset-password", get(index))
        .route("/app.js", get(|| async { page("text/javascript; charset=utf-8", APP_JS) }))
        .route("/app.css", get(|| async { page("text/css; charset=utf-8", APP_CSS) }));
    if let Some(events) = dev.events {
        router = router.route(
            "/_dev/events",
            get(move || {
                let events = events.events();
                async move { json_response(StatusCode::OK, &serde_json::json!({ "events": events })).map(Body::from) }
            }),
        );
    }
    if let Some(outbox) = dev.outbox {
        router =
            router.route(
                "/_dev/outbox",
                get(move || {
                    let messages = outbox.messages();
                    async move {
                        json_response(StatusCode::OK, &serde_json::json!({ "messages": messages })).map(Body::from)
                    }
                }),
            );
    }
    let router = router.fallback(serve).with_state(gateway);
    if origins.is_empty() { router } else { router.layer(cors_layer(origins)) }
}

fn page(content_type: &'static str, body: &'static str) -> Response {
    let headers = [
        (CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (HeaderName::from_static("content-security-policy"), HeaderValue::from_static(PAGE_CSP)),
        (HeaderName::from_static("x-content-type-options"), HeaderValue::from_static("nosniff")),
        (HeaderName::from_static("referrer-policy"), HeaderValue::from_static("no-referrer")),
    ];
    (StatusCode::OK, headers, body).into_response()
}

async fn serve(State(gateway): State<Arc<Gateway>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    // Read one byte past the limit so an oversized body is recognised, not truncated.
    let Ok(body) = to_bytes(body, MAX_BODY_BYTES + 1).await else {
        return problem(&ApiError::PayloadTooLarge).map(Body::from);
    };
    // The peer's address, as API Gateway's `sourceIp` would give it (the login throttle's key).
    let source_ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(peer)| peer.ip());
    let request = ApiRequest {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts.headers,
        body,
        principal: None,
        source_ip,
    };
    gateway.handle(request).await.map(Body::from)
}

#[cfg(test)]
mod tests {
    use axum::http::Request;
    use tower::ServiceExt as _;

    use super::*;

    const ALLOWED: &str = "https://app.example.com";

    async fn preflight(origin: &str) -> Response {
        let origins = AllowedOrigins::parse(ALLOWED).unwrap();
        let app = Router::new().fallback(|| async { "handler reached" }).layer(cors_layer(&origins));
        let request = Request::builder()
            .method(Method::OPTIONS)
            .uri("/auth/refresh")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type, x-csrf-token")
            .body(Body::empty())
            .unwrap();
        app.oneshot(request).await.unwrap()
    }

    fn header<'r>(response: &'r Response, name: &str) -> Option<&'r str> {
        response.headers().get(name).and_then(|value| value.to_str().ok())
    }

    #[tokio::test]
    async fn an_allowed_origin_gets_a_credentialed_preflight() {
        let response = preflight(ALLOWED).await;
        assert!(response.status().is_success());
        assert_eq!(header(&response, "access-control-allow-origin"), Some(ALLOWED));
        assert_eq!(header(&response, "access-control-allow-credentials"), Some("true"));
        let allowed_headers = header(&response, "access-control-allow-headers").unwrap_or_default();
        assert!(allowed_headers.contains("x-csrf-token"), "{allowed_headers}");
        let methods = header(&response, "access-control-allow-methods").unwrap_or_default();
        // DELETE ends a session (and turns MFA off) from the page.
        assert!(methods.contains("POST") && methods.contains("DELETE"), "{methods}");
    }

    #[tokio::test]
    async fn another_origin_gets_no_cors_grant_at_all() {
        for origin in ["https://evil.example.com", "https://app.example.com.evil.net", "null"] {
            let response = preflight(origin).await;
            assert_eq!(header(&response, "access-control-allow-origin"), None, "{origin} was allowed");
        }
    }

    #[test]
    fn the_page_is_served_with_a_strict_policy() {
        let response = page("text/html; charset=utf-8", INDEX_HTML);
        assert_eq!(header(&response, "content-security-policy"), Some(PAGE_CSP));
        assert!(!PAGE_CSP.contains("unsafe-inline"));
        assert!(!INDEX_HTML.contains("<script>"), "inline scripts would be blocked by the policy");
    }
}
