//! The status page over HTTP: counts, filtering, paging, a control's history,
//! the live stream, and who may look. `browser` drives the same pages in
//! headless Chromium.

mod browser;
mod busy;
mod cdp;
mod login;

use std::time::Duration;

use crate::common::*;
use rel04d::aws::Endpoints;
use rel04d_simulator::Simulator;

pub const TOKEN: &str = "status-page-token-0123456789";

/// A daemon over `ok` passing and `alarm` failing workloads (names `ok-NN` and
/// `alarm-NN`), all evaluated once; `http` is extra `[http]` TOML. Returns the
/// workload ids, passing ones first.
pub async fn seeded(ok: usize, alarm: usize, http: &str) -> (RunningDaemon, Vec<String>) {
    let sim = Simulator::new(REGION);
    let mut ids = Vec::new();
    for (prefix, count, selected) in [("ok", ok, &ALL_FOUR[..]), ("alarm", alarm, &ALL_FOUR[..2])] {
        for n in 0..count {
            let spec = workload(&format!("{prefix}-{n:02}"), answer(selected, &[], true));
            ids.push(sim.add_workload(spec).id);
        }
    }
    let config =
        format!("[http]\n{http}\n[schedule]\ninterval = \"1h\"\n[policies.global]\n{ALL_TRUE}\n");
    let d = RunningDaemon::start(sim, &config, Endpoints::default()).await;
    d.daemon.sweep_all().await;
    let total = ok + alarm;
    d.wait_for(
        "every control evaluated",
        Duration::from_secs(30),
        || async {
            let filter = rel04d::filter::Filter::parse("state:ok,alarm").unwrap();
            d.daemon.store.list_controls(&filter).await.unwrap().len() == total
        },
    )
    .await;
    (d, ids)
}

/// GET `path` on the daemon: status and body.
pub async fn get(d: &RunningDaemon, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut request = reqwest::Client::new().get(format!("http://{}{path}", d.http));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The figure after `data-state="<state>">` in the overview's counts.
fn count(html: &str, state: &str) -> i64 {
    let marker = format!(r#"data-state="{state}">"#);
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no count for {state}"))
        + marker.len();
    html[at..].split('<').next().unwrap().parse().unwrap()
}

/// Rows of the controls table.
fn rows(html: &str) -> usize {
    html.matches("data-workload-id=").count()
}

#[tokio::test]
async fn the_overview_counts_filters_sorts_and_pages() {
    let (d, _) = seeded(53, 4, "").await;
    let (status, html) = get(&d, "/", &[]).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(count(&html, "ok"), 53);
    assert_eq!(count(&html, "alarm"), 4);
    assert_eq!(count(&html, "error"), 0);
    assert!(
        html.contains("us-east-1"),
        "the sweep table names the scope"
    );
    assert_eq!(rows(&html), 50, "one page of 50");
    assert!(
        html.contains(r#"rel="next" href="/?q=&amp;page=2""#),
        "{html}"
    );

    let (_, page2) = get(&d, "/?q=&page=2", &[]).await;
    assert_eq!(rows(&page2), 7);
    assert!(!page2.contains(r#"rel="next""#));

    let (_, alarms) = get(&d, "/?q=state%3Aalarm+sort%3A-workload_name", &[]).await;
    assert_eq!(rows(&alarms), 4);
    let first = alarms.find(">alarm-03<").expect("sorted descending");
    assert!(first < alarms.find(">alarm-00<").unwrap());
    assert!(alarms.contains(r#"aria-sort="descending""#));

    let (_, regex) = get(&d, "/?q=workload%3A%2F%5Eok-0%5B0-4%5D%2F", &[]).await;
    assert_eq!(rows(&regex), 5, "a regex term, as the CLI runs it");

    let (status, bad) = get(&d, "/?q=colour%3Ablue", &[]).await;
    assert_eq!(status, 400);
    assert!(bad.contains("bad filter term 1 `colour:blue`"), "{bad}");
    let (status, bad) = get(&d, "/?q=sort%3Apassword", &[]).await;
    assert_eq!(status, 400);
    assert!(bad.contains("cannot sort controls by `password`"), "{bad}");
    let (status, _) = get(&d, "/?page=0", &[]).await;
    assert_eq!(status, 400);
    d.stop().await;
}

#[tokio::test]
async fn a_control_page_shows_its_explanation_and_history() {
    let (d, ids) = seeded(1, 0, "").await;
    flip_answer(&d.sim, &ids[0]);
    d.daemon.evaluate(&ids[0]).await.unwrap();
    let (status, html) = get(&d, &format!("/controls/{}", ids[0]), &[]).await;
    assert_eq!(status, 200, "{html}");
    // Opened (tbd), evaluated ok, then alarm: three transitions, newest first.
    assert_eq!(html.matches("data-transition-id=").count(), 3, "{html}");
    let newest = html.find("data-transition-id=").unwrap();
    let newest = &html[newest..newest + html[newest..].find("</tr>").unwrap()];
    let (from, to) = (newest.find("state-ok"), newest.find("state-alarm"));
    assert!(from.is_some() && from < to, "ok → alarm first: {newest}");
    assert!(
        html.contains(r#"<svg class="chart timeline""#),
        "a timeline"
    );
    assert!(
        html.contains("<th scope=\"row\">identify</th>"),
        "the policies: {html}"
    );
    assert!(
        html.contains("Question applicable"),
        "the answer as last read"
    );
    let (status, _) = get(&d, "/controls/no-such-workload", &[]).await;
    assert_eq!(status, 404);
    d.stop().await;
}

/// Reads SSE chunks until an event `transition` with an id above `above`
/// (keep-alive comments come in between, so the deadline is for the whole wait).
async fn next_transition(response: &mut reqwest::Response, above: i64) -> i64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut text = String::new();
    loop {
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .unwrap_or_else(|_| panic!("no transition above {above} within 30 s: {text:?}"))
            .unwrap()
            .expect("the stream is open");
        text.push_str(&String::from_utf8_lossy(&chunk));
        let ids: Vec<i64> = text
            .split("\n\n")
            .filter(|event| event.contains("event: transition"))
            .filter_map(|event| event.lines().find_map(|l| l.strip_prefix("data: ")))
            .filter_map(|id| id.trim().parse().ok())
            .collect();
        if let Some(id) = ids.into_iter().find(|id| *id > above) {
            return id;
        }
    }
}

#[tokio::test]
async fn the_live_stream_announces_transitions_and_ends_at_shutdown() {
    // A long shutdown_timeout: a stream that did not end by itself would hold
    // the daemon's stop for an hour.
    let (d, ids) = seeded(1, 0, "shutdown_timeout = \"1h\"").await;
    let url = format!("http://{}/live", d.http);
    let mut live = reqwest::get(&url).await.unwrap();
    assert_eq!(live.status(), 200);
    assert!(
        live.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let now = next_transition(&mut live, 0).await;
    flip_answer(&d.sim, &ids[0]);
    d.daemon.evaluate(&ids[0]).await.unwrap();
    let after = next_transition(&mut live, now).await;
    assert_eq!(after, d.transitions().await[0].id);

    tokio::time::timeout(Duration::from_secs(60), d.stop())
        .await
        .expect("the daemon stops with a live stream open");
    let end = live.chunk().await;
    assert!(matches!(end, Ok(None)), "the stream ended cleanly: {end:?}");
}

#[tokio::test]
async fn live_streams_take_at_most_a_quarter_of_the_connections() {
    let (d, _) = seeded(1, 0, "max_connections = 8").await;
    let url = format!("http://{}/live", d.http);
    let first = reqwest::get(&url).await.unwrap();
    let second = reqwest::get(&url).await.unwrap();
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    let third = reqwest::get(&url).await.unwrap();
    assert_eq!(third.status(), 503, "two of eight slots are for streams");
    let (status, _) = get(&d, "/", &[]).await;
    assert_eq!(status, 200, "pages are still served");
    drop((first, second));
    d.stop().await;
}

#[tokio::test]
async fn the_token_protects_the_pages_and_a_login_keeps_it_in_a_strict_cookie() {
    let (d, ids) = seeded(1, 0, &format!("graphql_token = \"{TOKEN}\"")).await;
    let (status, html) = get(&d, "/?q=state%3Aok", &[]).await;
    assert_eq!(status, 401);
    assert!(
        html.contains(r#"<label for="token">"#),
        "a login form: {html}"
    );
    assert!(
        html.contains(r#"value="/?q=state%3Aok""#),
        "back to the page after: {html}"
    );
    for path in ["/live", &format!("/controls/{}", ids[0])] {
        assert_eq!(get(&d, path, &[]).await.0, 401, "{path}");
    }
    let bearer = format!("Bearer {TOKEN}");
    assert_eq!(get(&d, "/", &[("Authorization", &bearer)]).await.0, 200);

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = |token: &str| {
        client
            .post(format!("http://{}/login", d.http))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("token={token}&next=%2F%3Fq%3Dstate%253Aok"))
            .send()
    };
    let wrong = login("nope").await.unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get("set-cookie").is_none());
    let right = login(TOKEN).await.unwrap();
    assert_eq!(right.status(), 303);
    assert_eq!(right.headers()["location"], "/?q=state%3Aok");
    let cookie = right.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap();
    assert_eq!(get(&d, "/", &[("Cookie", pair)]).await.0, 200);
    assert_eq!(
        get(&d, "/", &[("Cookie", "rel04d_token=wrong")]).await.0,
        401
    );

    let foreign = client
        .post(format!("http://{}/login", d.http))
        .header("Origin", "https://evil.example")
        .body(format!("token={TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403, "a login posted from another site");
    let rebound = get(
        &d,
        "/",
        &[("Host", "evil.example"), ("Authorization", &bearer)],
    )
    .await;
    assert_eq!(rebound.0, 421, "a DNS-rebinding Host");
    d.stop().await;
}
