//! Lambda wiring: turns API Gateway events into [`ApiRequest`]s and runs handlers. Each
//! function's `main.rs` builds its dependencies once and calls one of these.

use std::future::Future;

use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt as _, service_fn};
use lambda_runtime::LambdaEvent;
use serde_json::value::RawValue;

use crate::authorizer::{Authorizer, principal_from_context};
use crate::http::{ApiRequest, ApiResponse};
use crate::time::UnixTime;

pub type Error = lambda_http::Error;

pub fn api_request(request: lambda_http::Request) -> ApiRequest {
    let (principal, source_ip) = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => (
            context.authorizer.as_ref().and_then(|authorizer| principal_from_context(&authorizer.fields)),
            context.http.source_ip.as_deref().and_then(|ip| ip.parse().ok()),
        ),
        _ => (None, None),
    };
    let (parts, body) = request.into_parts();
    let body = match body {
        Body::Empty => bytes::Bytes::new(),
        Body::Text(text) => bytes::Bytes::from(text),
        Body::Binary(binary) => bytes::Bytes::from(binary),
        _ => bytes::Bytes::new(),
    };
    ApiRequest {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts.headers,
        body,
        principal,
        source_ip,
    }
}

/// Runs an HTTP API function: every invocation becomes one `handler` call.
pub async fn run_http<F, Fut>(handler: F) -> Result<(), Error>
where
    F: Fn(ApiRequest) -> Fut,
    Fut: Future<Output = ApiResponse> + Send,
{
    lambda_http::run(service_fn(|request: lambda_http::Request| {
        let response = handler(api_request(request));
        async move { Ok::<_, std::convert::Infallible>(response.await) }
    }))
    .await
}

/// Runs the authorizer function (HTTP API and REST API events alike).
pub async fn run_authorizer(authorizer: &Authorizer<'_>) -> Result<(), Error> {
    // The event stays text until its shape is known, then is parsed once into that shape's type.
    lambda_runtime::run(service_fn(|event: LambdaEvent<Box<RawValue>>| async move {
        // An event of no known shape is API Gateway misconfigured: report it as an error.
        authorizer.handle(event.payload.get(), UnixTime::now()).await.map_err(|error| Error::from(error.to_string()))
    }))
    .await
}

/// Logs a failed init (naming the bad variable, never its value) and exits non-zero, so the
/// Lambda runtime reports an init error instead of serving with a broken configuration.
pub fn init_or_exit<T, E: std::fmt::Display>(result: Result<T, E>) -> T {
    match result {
        Ok(value) => value,
        Err(error) => {
            tracing::error!(%error, "init failed");
            eprintln!("init failed: {error}");
            std::process::exit(1);
        }
    }
}
