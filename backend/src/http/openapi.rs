//! The OpenAPI 3.1 document (`GET /api/openapi.json`).
//!
//! Each handler carries its own `#[utoipa::path]` annotation, and each resource module
//! registers its handlers with `routes!`, which adds the route and its document entry together
//! (utoipa-axum's `OpenApiRouter`). So a route cannot be served without being documented.
//! This module holds what they share: the document's frame, the error replies common to many
//! routes, and [`original`], which serves and documents one of the original service's routes.

use accounts_api::{
    AccountReply, AppSummary, AppsReply, AuthorizeRequest, AuthorizeStep, ChangePasswordRequest,
    ConsentRequest, Credentials, EmailRequest, EmailVerifyRequest, ErrorCode, FieldError,
    ForgotPasswordRequest, LoginReply, LoginRequest, MessageReply, PasskeyChallenge,
    PasskeyLoginRequest, PasskeyRegistrationRequest, PasskeySummary, Password, PasswordPolicy,
    PolicyInfo, Problem, ReauthReply, ReauthRequest, RecoveryCodes, RegisterRequest,
    ResetPasswordRequest, RevokeAppRequest, RevokeSessionRequest, SensitiveRequest, SessionEntry,
    SessionInfo, TotpConfirmRequest, TotpSetup, TotpSetupRequest,
};
use std::sync::LazyLock;

use axum::{body::Bytes, http::header, response::IntoResponse};
use utoipa::{
    openapi::{
        security::{ApiKey, ApiKeyValue, SecurityScheme},
        ContentBuilder, OpenApi as OpenApiDoc, Ref, RefOr, ResponseBuilder,
    },
    IntoResponses, Modify, OpenApi,
};
use utoipa_axum::{router::UtoipaMethodRouter, routes};

use super::{ApiRouter, AppState};

/// The frame every route's entry is added to.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Accounts API",
        description = "Register, log in, change password. Every error is RFC 9457 \
                       application/problem+json with a stable `code`."
    ),
    components(schemas(
        Credentials, RegisterRequest, LoginRequest, ChangePasswordRequest, ResetPasswordRequest, ForgotPasswordRequest,
        EmailRequest, EmailVerifyRequest, MessageReply, AccountReply, TotpSetupRequest,
        TotpSetup, TotpConfirmRequest, RecoveryCodes, SensitiveRequest, ReauthRequest, ReauthReply,
        PasskeyChallenge, PasskeyRegistrationRequest, PasskeyLoginRequest, PasskeySummary, LoginReply, SessionInfo, PolicyInfo,
        PasswordPolicy, Password, Problem, FieldError, ErrorCode, AuthorizeRequest, AuthorizeStep,
        ConsentRequest, AppSummary, AppsReply, SessionEntry, RevokeAppRequest, RevokeSessionRequest
    )),
    modifiers(&SessionCookie)
)]
pub struct ApiDoc;

struct SessionCookie;

impl Modify for SessionCookie {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "session",
                "Set by a login. Named `__Host-session` (and `Secure`) when the server runs \
                 with --cookie-secure.",
            ))),
        );
    }
}

/// `GET /api/openapi.json`, documented too.
pub fn routes() -> ApiRouter {
    ApiRouter::new().routes(routes!(openapi_json))
}

/// The finished document, serialised on first use: it depends on the code alone.
static PUBLISHED: LazyLock<Bytes> =
    LazyLock::new(|| Bytes::from(serde_json::to_vec(&super::document()).unwrap_or_default()));

/// This API as OpenAPI 3.1.
#[utoipa::path(get, path = "/api/openapi.json", operation_id = "openapi", tag = "meta",
    responses((status = 200, description = "The OpenAPI document", body = serde_json::Value)))]
async fn openapi_json() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        PUBLISHED.clone(),
    )
}

/// Serves and documents `route` (from `routes!`) at the original service's `path` as well. The
/// copy's operation id gets `_original` and its summary says what it is.
pub fn original(path: &str, route: UtoipaMethodRouter<AppState>) -> UtoipaMethodRouter<AppState> {
    let (schemas, mut paths, method_router) = route;
    let items = std::mem::take(&mut paths.paths);
    for (_, mut item) in items {
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            op.operation_id = op.operation_id.as_ref().map(|id| format!("{id}_original"));
            op.summary = op
                .summary
                .as_ref()
                .map(|s| format!("{s} (the original service's route)"));
        }
        paths.paths.insert(path.to_owned(), item);
    }
    (schemas, paths, method_router)
}

/// Adds `421 misdirected_request` to every operation but the health probes: the host check
/// in front of them all answers it (see [`super::site`]), so it is said once, here, rather
/// than in each handler's annotation.
pub fn document_misdirected(doc: &mut OpenApiDoc) {
    let response = ResponseBuilder::new()
        .description(
            "The request named another host than the service's public one \
             (`misdirected_request`)",
        )
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build();
    for (path, item) in doc.paths.paths.iter_mut() {
        if path.starts_with(super::site::ANY_HOST) {
            continue;
        }
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
            &mut item.options,
            &mut item.trace,
        ]
        .into_iter()
        .flatten()
        {
            op.responses
                .responses
                .insert("421".to_owned(), RefOr::T(response.clone()));
        }
    }
}

/// What every route with a JSON body can also answer (a type for the document only).
#[derive(IntoResponses)]
#[allow(dead_code, missing_docs)]
pub enum BodyErrors {
    #[response(
        status = 408,
        description = "The body took too long",
        content_type = "application/problem+json"
    )]
    Timeout(Problem),
    #[response(
        status = 413,
        description = "Body over the size limit",
        content_type = "application/problem+json"
    )]
    TooLarge(Problem),
    #[response(
        status = 415,
        description = "Body is not JSON",
        content_type = "application/problem+json"
    )]
    NotJson(Problem),
    #[response(
        status = 503,
        description = "Database unavailable",
        content_type = "application/problem+json"
    )]
    Unavailable(Problem),
}

/// What every route that checks a password can also answer (a type for the document only).
#[derive(IntoResponses)]
#[allow(dead_code, missing_docs)]
pub enum CredentialErrors {
    #[response(
        status = 403,
        description = "Session cookie sent from another origin (`cross_origin`), or the password is right but an operator disabled the account (`account_disabled`)",
        content_type = "application/problem+json"
    )]
    CrossOrigin(Problem),
    #[response(status = 429, description = "Too many attempts", content_type = "application/problem+json",
        headers(("Retry-After" = u64, description = "Seconds to wait")))]
    TooManyAttempts(Problem),
}

/// What a sensitive change (see `crate::accounts::reauth`) can also answer, with a proof sent
/// along or not (a type for the document only).
#[derive(IntoResponses)]
#[allow(dead_code, missing_docs)]
pub enum SensitiveErrors {
    #[response(
        status = 403,
        description = "No password sent and no login or re-authentication within the window (`reauth_required`: `POST /api/session/reauth`, then send it again), session cookie sent from another origin (`cross_origin`), or the password is right but an operator disabled the account (`account_disabled`)",
        content_type = "application/problem+json"
    )]
    Refused(Problem),
    #[response(status = 429, description = "Too many attempts", content_type = "application/problem+json",
        headers(("Retry-After" = u64, description = "Seconds to wait")))]
    TooManyAttempts(Problem),
}

/// `403` for a sensitive change without a body: no recent authentication, or another site
/// (a type for the document only).
#[derive(IntoResponses)]
#[allow(dead_code, missing_docs)]
pub enum ReauthRequired {
    #[response(
        status = 403,
        description = "No login or re-authentication within the window (`reauth_required`: `POST /api/session/reauth`, then send it again), or session cookie sent from another origin (`cross_origin`)",
        content_type = "application/problem+json"
    )]
    Refused(Problem),
}

/// `400` for a body that is not JSON of the route's shape (a type for the document only).
#[derive(IntoResponses)]
#[allow(dead_code, missing_docs)]
pub enum InvalidBody {
    #[response(
        status = 400,
        description = "Invalid JSON or missing field",
        content_type = "application/problem+json"
    )]
    Invalid(Problem),
}

/// `401` for a signed-in route called without a valid session (a type for the document only).
#[derive(IntoResponses)]
#[allow(dead_code, missing_docs)]
pub enum NotSignedIn {
    #[response(
        status = 401,
        description = "Not signed in",
        content_type = "application/problem+json"
    )]
    Unauthenticated(Problem),
}

/// `403` for a cookie-carrying write from another site (a type for the document only).
#[derive(IntoResponses)]
#[allow(dead_code, missing_docs)]
pub enum CrossOrigin {
    #[response(
        status = 403,
        description = "Session cookie sent from another origin",
        content_type = "application/problem+json"
    )]
    Refused(Problem),
}

/// `503` when the database cannot be reached (a type for the document only).
#[derive(IntoResponses)]
#[allow(dead_code, missing_docs)]
pub enum StoreUnavailable {
    #[response(
        status = 503,
        description = "Database unavailable",
        content_type = "application/problem+json"
    )]
    Unavailable(Problem),
}

/// What every passkey route that needs the relying party can also answer (a type for the
/// document only). List it after [`BodyErrors`]: its 503 replaces theirs.
#[derive(IntoResponses)]
#[allow(dead_code, missing_docs)]
pub enum PasskeyErrors {
    #[response(
        status = 503,
        description = "Passkeys are off on this server (`passkeys_unavailable`: its --public-url has no domain name), or the database is unavailable",
        content_type = "application/problem+json"
    )]
    Unavailable(Problem),
}

#[cfg(test)]
mod tests {
    use axum::{body::Body, http::Request};
    use tower::ServiceExt;

    /// Routes are added only through `routes!`, which documents them: a plain axum `.route(`
    /// anywhere in the HTTP layer would serve something the document does not list.
    /// A route's own reply for a status must not be lost to a shared list with the same status
    /// (the later entry wins): the passkey routes' 503 says passkeys may be off.
    #[test]
    fn passkey_routes_document_that_passkeys_may_be_off() {
        let doc = serde_json::to_value(crate::http::document()).unwrap();
        for path in [
            "/api/passkeys/register/start",
            "/api/passkeys/register/finish",
            "/api/passkeys/login/start",
            "/api/passkeys/login/finish",
        ] {
            let said = &doc["paths"][path]["post"]["responses"]["503"]["description"];
            assert!(
                said.as_str()
                    .is_some_and(|d| d.contains("passkeys_unavailable")),
                "{path}: {said}"
            );
        }
    }

    #[test]
    fn no_route_is_added_without_its_document_entry() {
        let sources = [
            ("mod.rs", include_str!("mod.rs")),
            ("users.rs", include_str!("users.rs")),
            ("sessions.rs", include_str!("sessions.rs")),
            ("policy.rs", include_str!("policy.rs")),
            ("health.rs", include_str!("health.rs")),
            ("openapi.rs", include_str!("openapi.rs")),
            ("static_files.rs", include_str!("static_files.rs")),
            ("cross_origin.rs", include_str!("cross_origin.rs")),
            ("site.rs", include_str!("site.rs")),
        ];
        for (file, source) in sources {
            let code = source.split("#[cfg(test)]").next().unwrap_or(source);
            for marker in [".route(", ".route_service(", ".nest("] {
                assert!(
                    !code.contains(marker),
                    "http/{file} adds a route with `{marker}`, which skips the OpenAPI document; \
                     use `routes!` on an annotated handler"
                );
            }
        }
    }

    /// Every operation in the document is served.
    #[tokio::test]
    async fn every_documented_operation_is_routed() {
        let (router, doc, _dir) = super::super::tests::router_and_document().await;
        let doc = serde_json::to_value(doc).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.len() >= 13, "{:?}", paths.keys());
        for (path, item) in paths {
            for method in item.as_object().unwrap().keys() {
                let request = Request::builder()
                    .method(method.to_uppercase().as_str())
                    .uri(path)
                    .header("host", "localhost:5000")
                    .header("content-type", "application/json")
                    .body(Body::from("{}"))
                    .unwrap();
                let status = router.clone().oneshot(request).await.unwrap().status();
                assert!(
                    status != 404 && status != 405,
                    "{method} {path} is documented but answers {status}"
                );
            }
        }
        let login = &paths["/login"]["post"];
        assert_eq!(login["operationId"], "login_original");
        for status in ["200", "400", "401", "413", "415", "421", "429", "503"] {
            assert!(
                login["responses"].get(status).is_some(),
                "login lacks {status}"
            );
        }
        assert!(doc["components"]["schemas"]["Problem"].is_object());
        assert!(
            paths["/health/live"]["get"]["responses"]
                .get("421")
                .is_none(),
            "the probes answer any host"
        );
    }
}
