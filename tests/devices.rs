//! The session list: where an account is signed in, ending one session, "everywhere
//! else", and the administrators' view, through the gateway on both stores.

use e2e::{PASSWORD, TestApp, TestResponse, request, unique_email};
use http::{HeaderValue, Method};
use serde_json::{Value, json};
use shared::time::UnixTime;

/// A login from a browser of its own (the `User-Agent` the list shows).
async fn login_with(app: &TestApp, email: &str, user_agent: &str) -> TestResponse {
    let mut login = request(Method::POST, "/auth/login", Some(json!({ "email": email, "password": PASSWORD })), None);
    login.headers.insert("user-agent", HeaderValue::from_str(user_agent).unwrap());
    let response = app.send(login).await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    response
}

/// The session id (`sid`) of a token response's access token.
fn sid(app: &TestApp, tokens: &TestResponse) -> String {
    app.gateway.accounts.verifier.verify_access(&tokens.text("access_token"), UnixTime::now()).unwrap().sid
}

async fn list(app: &TestApp, tokens: &TestResponse) -> TestResponse {
    app.get("/auth/sessions", Some(&tokens.text("access_token"))).await
}

fn ids(listed: &TestResponse) -> Vec<String> {
    listed.body["sessions"].as_array().unwrap().iter().map(|session| session["id"].as_str().unwrap().into()).collect()
}

async fn end(app: &TestApp, tokens: &TestResponse, session_id: &str) -> TestResponse {
    let path = format!("/auth/sessions/{session_id}");
    app.send(request(Method::DELETE, &path, None, Some(&tokens.text("access_token")))).await
}

/// Three logins of one account (two browsers and a phone), newest last.
async fn three_devices(app: &TestApp) -> [TestResponse; 3] {
    let email = unique_email();
    assert_eq!(app.register(&email, PASSWORD).await.status, 201);
    // The list orders by creation, to the millisecond: logins a few apart keep a known order (on
    // the embedded store with a cheap hash, two can fall in one millisecond, in either order).
    let apart = || tokio::time::sleep(std::time::Duration::from_millis(3));
    apart().await;
    let laptop = login_with(app, &email, "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0").await;
    apart().await;
    let tablet = login_with(app, &email, "Mozilla/5.0 (iPad) Safari/605.1").await;
    apart().await;
    let phone = login_with(app, &email, "MyApp/2.1 (Android 15)").await;
    [laptop, tablet, phone]
}

async fn the_list_shows_each_login_newest_first_and_marks_the_current_one(app: TestApp) {
    let [laptop, tablet, phone] = three_devices(&app).await;
    let from_tablet = list(&app, &tablet).await;
    assert_eq!(from_tablet.status, 200, "{:?}", from_tablet.body);
    assert_eq!(from_tablet.headers["cache-control"], "no-store");
    let sessions = from_tablet.body["sessions"].as_array().unwrap();
    // The registration's own session is the fourth, oldest.
    assert_eq!(sessions.len(), 4, "{sessions:?}");
    assert_eq!(ids(&from_tablet)[..3], [sid(&app, &phone), sid(&app, &tablet), sid(&app, &laptop)]);
    let current: Vec<bool> = sessions.iter().map(|session| session["current"].as_bool().unwrap()).collect();
    assert_eq!(current, [false, true, false, false]);
    assert_eq!(sessions[0]["user_agent"], "MyApp/2.1 (Android 15)");
    assert_eq!(sessions[1]["user_agent"], "Mozilla/5.0 (iPad) Safari/605.1");
    assert_eq!(sessions[0]["ip"], "192.0.2.1");
    assert_eq!(sessions[3]["user_agent"], Value::Null, "the registration sent no User-Agent");
    for session in sessions {
        for field in ["created_at", "last_used_at", "expires_at"] {
            let text = session[field].as_str().unwrap_or_else(|| panic!("{field}: {session}"));
            assert!(humantime::parse_rfc3339(text).is_ok(), "{field} is no RFC 3339 time: {text}");
        }
        assert!(session["expires_at"].as_str() > session["last_used_at"].as_str());
    }
    // Each device sees the same list with itself marked.
    let from_phone = list(&app, &phone).await;
    assert_eq!(ids(&from_phone), ids(&from_tablet));
    assert_eq!(from_phone.body["sessions"][0]["current"], true);
}

async fn a_refresh_updates_last_use_and_where_from(app: TestApp) {
    let [laptop, ..] = three_devices(&app).await;
    let before = list(&app, &laptop).await.body["sessions"][2].clone();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let mut refresh =
        request(Method::POST, "/auth/refresh", Some(json!({ "refresh_token": laptop.text("refresh_token") })), None);
    // Not ASCII (HTTP's obs-text), as some clients send: kept as the UTF-8 it is.
    let user_agent = "Mozilla/5.0 (X11; Linux x86_64) Firefox/141.0 Bücherwurm";
    refresh.headers.insert("user-agent", HeaderValue::from_bytes(user_agent.as_bytes()).unwrap());
    refresh.source_ip = Some("2001:db8::7".parse().unwrap());
    let refreshed = app.send(refresh).await;
    assert_eq!(refreshed.status, 200);
    let after = list(&app, &refreshed).await;
    let session = &after.body["sessions"][2];
    assert_eq!(session["id"], before["id"], "a refresh keeps the session's place (its creation)");
    assert_eq!(session["current"], true);
    assert_eq!(session["user_agent"], user_agent);
    assert_eq!(session["ip"], "2001:db8::7");
    assert_eq!(session["created_at"], before["created_at"]);
    assert!(session["last_used_at"].as_str() > before["last_used_at"].as_str(), "{before} -> {session}");
}

async fn ending_one_session_stops_its_refresh_and_leaves_the_others(app: TestApp) {
    let [laptop, tablet, phone] = three_devices(&app).await;
    let ended = end(&app, &phone, &sid(&app, &laptop)).await;
    assert_eq!((ended.status, ended.body.clone()), (204, Value::Null));
    let refused = app.refresh(&laptop.text("refresh_token")).await;
    assert_eq!((refused.status, refused.code()), (401, "token_revoked"));
    assert_eq!(app.refresh(&tablet.text("refresh_token")).await.status, 200);
    assert!(!ids(&list(&app, &phone).await).contains(&sid(&app, &laptop)));
    // Ended once: again, it is no longer there.
    let again = end(&app, &phone, &sid(&app, &laptop)).await;
    assert_eq!((again.status, again.code()), (404, "not_found"));
    // The current session may end itself: its own refresh stops too.
    assert_eq!(end(&app, &phone, &sid(&app, &phone)).await.status, 204);
    let own = app.refresh(&phone.text("refresh_token")).await;
    assert_eq!((own.status, own.code()), (401, "token_revoked"));
}

async fn another_users_session_is_as_unknown(app: TestApp) {
    let [laptop, ..] = three_devices(&app).await;
    let stranger = app.register(&unique_email(), PASSWORD).await;
    let foreign = end(&app, &stranger, &sid(&app, &laptop)).await;
    assert_eq!((foreign.status, foreign.code()), (404, "not_found"));
    let unknown = end(&app, &stranger, &uuid::Uuid::new_v4().to_string()).await;
    assert_eq!(
        (unknown.status, unknown.code(), unknown.body["title"].clone()),
        (404, "not_found", foreign.body["title"].clone())
    );
    let garbage = end(&app, &stranger, &"x".repeat(3000)).await;
    assert_eq!((garbage.status, garbage.code()), (404, "not_found"));
    // The laptop's session was not touched.
    assert_eq!(app.refresh(&laptop.text("refresh_token")).await.status, 200);
    // Nor does the stranger see it.
    assert_eq!(ids(&list(&app, &stranger).await), [sid(&app, &stranger)]);
}

async fn logout_others_leaves_exactly_the_callers_session(app: TestApp) {
    let [laptop, tablet, phone] = three_devices(&app).await;
    let out = app.logout(&tablet.text("refresh_token"), "others", None).await;
    assert_eq!((out.status, out.body.clone()), (204, Value::Null));
    let left = list(&app, &tablet).await;
    assert_eq!(left.status, 200, "{:?}", left.body);
    assert_eq!(ids(&left), [sid(&app, &tablet)]);
    assert_eq!(left.body["sessions"][0]["current"], true);
    for gone in [&laptop, &phone] {
        let refused = app.refresh(&gone.text("refresh_token")).await;
        assert_eq!((refused.status, refused.code()), (401, "token_revoked"));
    }
    // The caller goes on with the tokens it holds.
    assert_eq!(app.refresh(&tablet.text("refresh_token")).await.status, 200);
    // A session revoked meanwhile cannot end the others.
    let revoked = app.logout(&laptop.text("refresh_token"), "others", None).await;
    assert_eq!((revoked.status, revoked.code()), (401, "token_revoked"));
}

async fn a_spent_token_cannot_end_the_others_and_reuse_ends_its_session(app: TestApp) {
    let [laptop, tablet, _phone] = three_devices(&app).await;
    let rotated = app.refresh(&laptop.text("refresh_token")).await;
    assert_eq!(rotated.status, 200);
    // With the default grace period the first replay is answered; the one after is reuse.
    assert_eq!(app.refresh(&laptop.text("refresh_token")).await.status, 200);
    let replay = app.logout(&laptop.text("refresh_token"), "others", None).await;
    assert_eq!((replay.status, replay.code()), (401, "token_reused"));
    // Reused and expired sessions are not listed; the others still are.
    let listed = ids(&list(&app, &tablet).await);
    assert!(!listed.contains(&sid(&app, &laptop)), "{listed:?}");
    assert!(listed.contains(&sid(&app, &tablet)));
    assert_eq!(app.refresh(&tablet.text("refresh_token")).await.status, 200);
}

async fn an_ended_session_cannot_list_or_end_sessions(app: TestApp) {
    let [laptop, tablet, _phone] = three_devices(&app).await;
    assert_eq!(app.logout(&laptop.text("refresh_token"), "local", None).await.status, 204);
    let listed = list(&app, &laptop).await;
    assert_eq!((listed.status, listed.code()), (401, "token_revoked"));
    let ended = end(&app, &laptop, &sid(&app, &tablet)).await;
    assert_eq!((ended.status, ended.code()), (401, "token_revoked"));
    assert_eq!(app.refresh(&tablet.text("refresh_token")).await.status, 200);
}

async fn the_list_pages_past_fifty(app: TestApp) {
    let email = unique_email();
    let first = app.register(&email, PASSWORD).await;
    // Oldest for sure: the list orders by the millisecond (see `three_devices`).
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    for _ in 0..51 {
        assert_eq!(app.login(&email, PASSWORD).await.status, 200);
    }
    let token = first.text("access_token");
    let page = app.get("/auth/sessions", Some(&token)).await;
    assert_eq!(ids(&page).len(), 50);
    let cursor = page.body["next_cursor"].as_str().expect("a cursor past 50").to_owned();
    let rest = app.get(&format!("/auth/sessions?cursor={cursor}"), Some(&token)).await;
    assert_eq!(rest.status, 200, "{:?}", rest.body);
    assert_eq!(ids(&rest).len(), 2, "52 sessions: 50, then 2");
    assert_eq!(ids(&rest)[1], sid(&app, &first), "the oldest, the registration's, comes last");
    assert_eq!(rest.body["next_cursor"], Value::Null);
    let mut all = ids(&page);
    all.extend(ids(&rest));
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 52);
    for bad in ["limit=0", "limit=51", "limit=x", "cursor=bm90LWEtY3Vyc29y"] {
        let refused = app.get(&format!("/auth/sessions?{bad}"), Some(&token)).await;
        assert_eq!((refused.status, refused.code()), (400, "validation_failed"), "{bad}");
    }
    assert_eq!(ids(&app.get("/auth/sessions?limit=2", Some(&token)).await).len(), 2);
}

async fn admins_list_and_end_a_users_sessions(app: TestApp) {
    let [laptop, tablet, phone] = three_devices(&app).await;
    let admin = app.sign_in_admin().await;
    let token = admin.text("access_token");
    let user_id = laptop.body["user"]["id"].as_str().unwrap().to_owned();
    let path = format!("/admin/users/{user_id}/sessions");

    let listed = app.get(&path, Some(&token)).await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    assert_eq!(ids(&listed), ids(&list(&app, &phone).await), "the list the user sees");
    assert!(listed.body["sessions"].as_array().unwrap().iter().all(|session| session["current"] == false));

    let ended = app.send(request(Method::DELETE, &path, None, Some(&token))).await;
    assert_eq!((ended.status, ended.body.clone()), (204, Value::Null));
    for device in [&laptop, &tablet, &phone] {
        let refused = app.refresh(&device.text("refresh_token")).await;
        assert_eq!((refused.status, refused.code()), (401, "token_revoked"));
    }
    assert_eq!(ids(&app.get(&path, Some(&token)).await), Vec::<String>::new());
    // The admin's own session is not the user's: it goes on.
    assert_eq!(app.refresh(&admin.text("refresh_token")).await.status, 200);

    let unknown = format!("/admin/users/{}/sessions", uuid::Uuid::new_v4());
    for method in [Method::GET, Method::DELETE] {
        let missing = app.send(request(method.clone(), &unknown, None, Some(&token))).await;
        assert_eq!((missing.status, missing.code()), (404, "not_found"), "{method}");
        let garbage = app.send(request(method.clone(), "/admin/users/not-an-id/sessions", None, Some(&token))).await;
        assert_eq!((garbage.status, garbage.code()), (404, "not_found"), "{method}");
    }
}

async fn users_are_refused_the_admin_session_routes(app: TestApp) {
    let [laptop, tablet, _] = three_devices(&app).await;
    let path = format!("/admin/users/{}/sessions", laptop.body["user"]["id"].as_str().unwrap());
    for method in [Method::GET, Method::DELETE] {
        let refused = app.send(request(method.clone(), &path, None, Some(&tablet.text("access_token")))).await;
        assert_eq!((refused.status, refused.body.clone()), (403, json!({ "message": "Forbidden" })), "{method}");
        let anonymous = app.send(request(method, &path, None, None)).await;
        assert_eq!(anonymous.status, 401);
    }
    // The refused DELETE ended nothing.
    assert_eq!(app.refresh(&laptop.text("refresh_token")).await.status, 200);
}

/// With the authorizer's strict revocation check, an ended session's access tokens stop at once.
async fn strict_revocation_refuses_an_ended_sessions_access_token(app: TestApp) {
    let app = e2e::spawn_app_with(app.gateway.accounts.store.clone(), true);
    let [laptop, tablet, phone] = three_devices(&app).await;
    assert_eq!(list(&app, &laptop).await.status, 200);
    assert_eq!(end(&app, &phone, &sid(&app, &laptop)).await.status, 204);
    let refused = app.get("/auth/me", Some(&laptop.text("access_token"))).await;
    assert_eq!(refused.status, 403, "{:?}", refused.body);
    // "Everywhere else" from the phone: the tablet's access token stops too; the phone's works.
    assert_eq!(app.logout(&phone.text("refresh_token"), "others", None).await.status, 204);
    assert_eq!(app.get("/auth/me", Some(&tablet.text("access_token"))).await.status, 403);
    assert_eq!(app.get("/auth/me", Some(&phone.text("access_token"))).await.status, 200);
}

e2e::on_both_stores!(
    the_list_shows_each_login_newest_first_and_marks_the_current_one,
    a_refresh_updates_last_use_and_where_from,
    ending_one_session_stops_its_refresh_and_leaves_the_others,
    another_users_session_is_as_unknown,
    logout_others_leaves_exactly_the_callers_session,
    a_spent_token_cannot_end_the_others_and_reuse_ends_its_session,
    an_ended_session_cannot_list_or_end_sessions,
    the_list_pages_past_fifty,
    admins_list_and_end_a_users_sessions,
    users_are_refused_the_admin_session_routes,
    strict_revocation_refuses_an_ended_sessions_access_token,
);
