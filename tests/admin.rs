//! The back office: administrators only (T10), the outbox readable there, every consultation
//! journaled (JNL-1).

use atomes::accounts::Role;
use atomes::clock::Clock;
use atomes::journal;
use atomes::mail::{self, NewMail};
use axum::http::StatusCode;

use crate::support::TestApp;

const PASSWORD: &str = "une phrase de passe solide";

#[tokio::test]
async fn the_back_office_is_closed_to_visitors_and_professionals() {
    let app = TestApp::new();
    app.create_user("pro@example.org", PASSWORD, Role::Professional, false);
    let pro = app.login("pro@example.org", PASSWORD).await;
    for path in ["/admin", "/admin/courriels", "/admin/courriels/1"] {
        let anon = app.get(path).await;
        assert_eq!((anon.status, anon.header("location")), (StatusCode::SEE_OTHER, "/connexion"), "{path}");
        let r = app.get_with(path, &pro).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(r.texts("h1"), vec!["Accès refusé"]);
    }
    assert_eq!(journal::list_all(&mut app.conn()).unwrap().iter().filter(|e| e.action == "consultation").count(), 0);
}

#[tokio::test]
async fn administrators_read_the_outbox_and_each_reading_is_journaled() {
    let app = TestApp::new();
    let admin = app.create_user("camille@example.org", PASSWORD, Role::Administrator, false);
    let id = mail::enqueue(
        &mut app.conn(),
        &NewMail {
            recipient: "helene@example.org".into(),
            subject: "Confirmation".into(),
            body_text: "Bonjour Hélène".into(),
        },
        app.clock.now_naive(),
    )
    .unwrap();
    let cookie = app.login("camille@example.org", PASSWORD).await;

    let r = app.get_with("/admin", &cookie).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.texts("li").iter().any(|t| t == "En attente d'envoi : 1"), "{:?}", r.texts("li"));

    let r = app.get_with("/admin/courriels", &cookie).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("cache-control"), "no-store");
    let row = r.texts("tbody tr");
    assert_eq!(row.len(), 1);
    assert!(row[0].contains("helene@example.org") && row[0].contains("Confirmation"), "{row:?}");
    let mut conn = app.conn();
    let e = journal::list_all(&mut conn).unwrap().pop().unwrap();
    assert_eq!(
        (e.action.as_str(), e.object_type.as_str(), e.object_id.as_deref()),
        ("consultation", "mail_outbox", None)
    );
    assert_eq!(e.actor_id, Some(admin.id));

    let r = app.get_with(&format!("/admin/courriels/{id}"), &cookie).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.texts("pre.mail-body"), vec!["Bonjour Hélène"]);
    let e = journal::list_all(&mut conn).unwrap().pop().unwrap();
    assert_eq!((e.object_type.as_str(), e.object_id), ("mail_outbox", Some(id.to_string())));

    let before = journal::count(&mut conn).unwrap();
    assert_eq!(app.get_with("/admin/courriels/999999", &cookie).await.status, StatusCode::NOT_FOUND);
    assert_eq!(journal::count(&mut conn).unwrap(), before, "nothing was read");
}
