//! `GET /api/openapi.json`: the API described as OpenAPI 3.1, generated from the code (the shared
//! DTOs' schemas and the route list below), so it cannot drift from what the server does.
//! The original's routes (`/user/add`, `/login`, `/user/update`) are listed as copies of their
//! canonical operations.

use accounts_api::{
    AccountReply, ChangePasswordRequest, Credentials, ErrorCode, FieldError, LoginReply, Password,
    PasswordPolicy, PolicyInfo, Problem, SessionInfo,
};
use axum::{routing::get, Json, Router};
use utoipa::{
    openapi::{
        security::{ApiKey, ApiKeyValue, SecurityScheme},
        OpenApi as OpenApiDoc,
    },
    IntoResponses, Modify, OpenApi,
};

use super::AppState;

pub fn router() -> Router<AppState> {
    let doc = document();
    Router::new().route("/api/openapi.json", get(move || async move { Json(doc) }))
}

/// The finished document, aliases included.
pub fn document() -> OpenApiDoc {
    let mut doc = ApiDoc::openapi();
    for (alias, canonical) in [
        ("/user/add", "/api/user/add"),
        ("/login", "/api/login"),
        ("/user/update", "/api/user/update"),
    ] {
        if let Some(mut item) = doc.paths.paths.get(canonical).cloned() {
            if let Some(op) = item.post.as_mut() {
                op.operation_id = op.operation_id.as_ref().map(|id| format!("{id}_original"));
                op.summary = op
                    .summary
                    .as_ref()
                    .map(|s| format!("{s} (the original service's route)"));
            }
            doc.paths.paths.insert(alias.to_owned(), item);
        }
    }
    doc
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Accounts API",
        description = "Register, log in, change password. Every error is RFC 9457 \
                       application/problem+json with a stable `code`."
    ),
    paths(register, login, change_password, delete_account, logout, session, policy, live, ready),
    components(schemas(
        Credentials, ChangePasswordRequest, AccountReply, LoginReply, SessionInfo, PolicyInfo,
        PasswordPolicy, Password, Problem, FieldError, ErrorCode
    )),
    modifiers(&SessionCookie)
)]
struct ApiDoc;

struct SessionCookie;

impl Modify for SessionCookie {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("session"))),
        );
    }
}

/// What every route with a JSON body can also answer.
#[derive(IntoResponses)]
#[allow(dead_code)]
enum BodyErrors {
    #[response(
        status = 408,
        description = "The body took too long",
        content_type = "application/problem+json"
    )]
    Timeout(Problem),
    #[response(
        status = 413,
        description = "Body over 16 KiB",
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

/// What every route that checks a password can also answer.
#[derive(IntoResponses)]
#[allow(dead_code)]
enum CredentialErrors {
    #[response(
        status = 403,
        description = "Session cookie sent from another origin",
        content_type = "application/problem+json"
    )]
    CrossOrigin(Problem),
    #[response(status = 429, description = "Too many attempts", content_type = "application/problem+json",
        headers(("Retry-After" = u64, description = "Seconds to wait")))]
    TooManyAttempts(Problem),
}

/// Register a new account.
#[utoipa::path(post, path = "/api/user/add", operation_id = "register", tag = "users",
    request_body = Credentials,
    responses(
        (status = 201, description = "Created", body = AccountReply),
        (status = 400, description = "Invalid JSON, missing field, invalid user name or password", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The user name is taken", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many registrations from this address", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        BodyErrors,
    ))]
#[allow(dead_code)]
fn register() {}

/// Log in; the session is set as an HttpOnly cookie.
#[utoipa::path(post, path = "/api/login", operation_id = "login", tag = "sessions",
    request_body = Credentials,
    responses(
        (status = 200, description = "Logged in", body = LoginReply,
            headers(("Set-Cookie" = String, description = "The session cookie"))),
        (status = 400, description = "Invalid JSON, missing field or invalid user name", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong user name or password, or password expired", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
        CredentialErrors,
    ))]
#[allow(dead_code)]
fn login() {}

/// Change the password, given the current one; revokes all of the user's sessions.
#[utoipa::path(post, path = "/api/user/update", operation_id = "change_password", tag = "users",
    request_body = ChangePasswordRequest,
    responses(
        (status = 200, description = "Changed", body = AccountReply),
        (status = 400, description = "Invalid JSON, missing field, invalid user name or new password", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong user name or password", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
        CredentialErrors,
    ))]
#[allow(dead_code)]
fn change_password() {}

/// Delete the account and all its sessions, given its password.
#[utoipa::path(post, path = "/api/user/delete", operation_id = "delete_account", tag = "users",
    request_body = Credentials,
    responses(
        (status = 200, description = "Deleted", body = AccountReply),
        (status = 400, description = "Invalid JSON, missing field or invalid user name", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong user name or password", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
        CredentialErrors,
    ))]
#[allow(dead_code)]
fn delete_account() {}

/// Log out: revoke this session and clear the cookie.
#[utoipa::path(post, path = "/api/logout", operation_id = "logout", tag = "sessions",
    responses(
        (status = 204, description = "Logged out (also when there was no session)"),
        (status = 403, description = "Session cookie sent from another origin", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
#[allow(dead_code)]
fn logout() {}

/// The signed-in account.
#[utoipa::path(get, path = "/api/session", operation_id = "session", tag = "sessions",
    security(("session" = [])),
    responses(
        (status = 200, description = "Signed in", body = SessionInfo),
        (status = 401, description = "No valid session", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
#[allow(dead_code)]
fn session() {}

/// The password and user-name rules in force.
#[utoipa::path(get, path = "/api/policy", operation_id = "policy", tag = "meta",
    responses((status = 200, description = "The rules", body = PolicyInfo)))]
#[allow(dead_code)]
fn policy() {}

/// Liveness: the process answers (no I/O).
#[utoipa::path(get, path = "/health/live", operation_id = "live", tag = "meta",
    responses((status = 200, description = "Alive", body = serde_json::Value)))]
#[allow(dead_code)]
fn live() {}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/health/ready", operation_id = "ready", tag = "meta",
    responses(
        (status = 200, description = "Ready", body = serde_json::Value),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
#[allow(dead_code)]
fn ready() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_route_with_its_statuses() {
        let doc = serde_json::to_value(document()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        for path in [
            "/api/user/add",
            "/user/add",
            "/api/login",
            "/login",
            "/api/user/update",
            "/user/update",
            "/api/user/delete",
            "/api/logout",
            "/api/session",
            "/api/policy",
            "/health/live",
            "/health/ready",
        ] {
            assert!(paths.contains_key(path), "{path} missing");
        }
        let login = &paths["/login"]["post"];
        assert_eq!(login["operationId"], "login_original");
        for status in ["200", "400", "401", "413", "415", "429", "503"] {
            assert!(
                login["responses"].get(status).is_some(),
                "login lacks {status}"
            );
        }
        assert!(doc["components"]["schemas"]["Problem"].is_object());
    }
}
