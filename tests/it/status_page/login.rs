//! What a page visitor cannot do at `/login`: leave through `next`, or guess the
//! token at full speed.

use super::{TOKEN, seeded};

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// POSTs a login form whose fields are already form-encoded.
async fn login(d: &crate::common::RunningDaemon, form: &str) -> reqwest::Response {
    no_redirects()
        .post(format!("http://{}/login", d.http))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form.to_owned())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_login_goes_only_to_a_path_here_and_a_bad_next_still_logs_in() {
    let (d, _) = seeded(1, 0, &format!("graphql_token = \"{TOKEN}\"")).await;
    // Form-encoded `next` values: a tab that browsers strip (`/\t/evil`), two
    // slashes, a backslash, schemes, and CR/LF, raw and percent-encoded.
    let hostile = [
        "%2F%2509%2Fevil.example%2F",
        "%2F%09%2Fevil.example%2F",
        "%2F%2Fevil.example",
        "%2F%5Cevil.example",
        "https%3A%2F%2Fevil.example",
        "javascript%3Aalert(1)",
        "%2F%0D%0ASet-Cookie%3A+x%3Dy",
        "%2F%250d%250aSet-Cookie%3A%2520x%3Dy",
    ];
    for next in hostile {
        let response = login(&d, &format!("token={TOKEN}&next={next}")).await;
        assert_eq!(response.status(), 303, "next={next}");
        assert_eq!(response.headers()["location"], "/", "next={next}");
        assert!(
            response.headers().get("set-cookie").is_some(),
            "a correct login with next={next} still logs in"
        );
    }
    let fine = login(&d, &format!("token={TOKEN}&next=%2Fcontrols%2Fabc")).await;
    assert_eq!(fine.headers()["location"], "/controls/abc");
    d.stop().await;
}

#[tokio::test]
async fn wrong_tokens_are_slowed_to_429_with_retry_after() {
    let (d, _) = seeded(1, 0, &format!("graphql_token = \"{TOKEN}\"")).await;
    let mut statuses = Vec::new();
    for n in 0..30 {
        let response = login(&d, &format!("token=guess{n}&next=%2F")).await;
        let status = response.status().as_u16();
        if status == 429 {
            let retry: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(retry >= 1, "{retry}");
            let body = response.text().await.unwrap();
            assert!(body.contains("Too many wrong tokens"), "{body}");
        }
        statuses.push(status);
    }
    let first_limited = statuses.iter().position(|s| *s == 429);
    assert!(
        first_limited.is_some_and(|at| at >= 10 && statuses[..at].iter().all(|s| *s == 401)),
        "{statuses:?}"
    );
    // While limited, even the right token is not compared: guessing has no fast path.
    let right = login(&d, &format!("token={TOKEN}&next=%2F")).await;
    assert_eq!(right.status(), 429);
    d.stop().await;
}
