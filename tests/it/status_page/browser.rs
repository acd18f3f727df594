//! The status page in a real browser: headless Chromium (Debian's `chromium`,
//! which scripts/test.sh installs) against a daemon seeded from the simulator.
//! With `REL04D_SCREENSHOTS=<dir>` the test also saves the README's screenshots
//! there (scripts/screenshots.sh).
//!
//! Every page is also checked with axe-core, the accessibility engine behind
//! `@axe-core/cli` and Lighthouse, at a desktop and a phone width: no violation
//! of any impact. scripts/test.sh installs axe-core from npm and names its
//! script in `REL04D_AXE_JS`.
//!
//! Without Chromium (or axe-core) the test says so and passes, except under CI
//! (`CI` set), where a missing browser or axe-core is a failure.

use std::path::PathBuf;

use serde_json::json;

use super::cdp::{Browser, find_chromium};
use super::seeded;
use crate::common::*;

#[tokio::test]
async fn the_pages_work_in_chromium_and_update_live() {
    let Some(chromium) = find_chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is not installed (scripts/test.sh installs it)"
        );
        eprintln!(
            "SKIPPED: no chromium on PATH (set REL04D_CHROMIUM or install Debian's chromium)"
        );
        return;
    };
    let (d, ids) = seeded(12, 3, "").await;
    let base = format!("http://{}", d.http);
    let mut browser = Browser::launch(&chromium, &format!("{base}/")).await;

    // The overview's counts are the database's.
    browser
        .wait_for(
            "the overview",
            "document.readyState === 'complete' && !!document.querySelector('#controls')",
        )
        .await;
    let counts = browser
        .eval("[...document.querySelectorAll('.count')].map(e => e.dataset.state + '=' + e.textContent).join(' ')")
        .await;
    assert_eq!(
        counts,
        json!("alarm=3 error=0 invalid=0 ok=12 tbd=0 skipped=0")
    );
    assert_eq!(
        browser
            .eval("document.querySelectorAll('#controls tbody tr').length")
            .await,
        json!(15)
    );
    browser
        .wait_for(
            "the live stream connected",
            "document.getElementById('live-status').textContent === 'Live: on'",
        )
        .await;

    // Filtering through the form: the URL carries the filter, the table narrows.
    browser
        .eval("document.getElementById('q').value = 'state:alarm'; document.querySelector('form.filter').requestSubmit(); true")
        .await;
    browser
        .wait_for("the filtered table", "location.search.includes('state%3Aalarm') && document.querySelectorAll('#controls tbody tr').length === 3")
        .await;
    let states = browser
        .eval("[...document.querySelectorAll('#controls tbody .state')].map(e => e.textContent.trim()).join(',')")
        .await;
    assert_eq!(states, json!("✖ alarm,✖ alarm,✖ alarm"));
    screenshot(&mut browser, "overview.png", 1000).await;
    screenshot(&mut browser, "overview-phone.png", 390).await;
    let axe = axe_script();
    assert_accessible(&mut browser, axe.as_deref(), "the overview").await;

    // A transition while the overview is open: the counts change, no reload.
    let shown = "document.querySelector('.count[data-state=alarm]').textContent === '4' && document.querySelectorAll('#controls tbody tr').length === 4";
    transition_without_reload(&mut browser, &d, &ids[0], "4 alarms", shown).await;

    // A control page, reached by its link, shows its history.
    let link = format!("#controls tbody tr[data-workload-id='{}'] a", ids[0]);
    browser
        .eval(&format!("document.querySelector(\"{link}\").click(); true"))
        .await;
    browser
        .wait_for("the control page", "location.pathname.startsWith('/controls/') && !!document.querySelector('#transitions')")
        .await;
    let history = browser
        .eval("[...document.querySelectorAll('#transitions tbody tr td:nth-child(3)')].map(e => e.textContent.trim()).join(',')")
        .await;
    assert_eq!(history, json!("✖ alarm,✔ ok,… tbd"));
    assert_eq!(
        browser
            .eval("document.querySelectorAll('svg.timeline .band').length")
            .await,
        json!(3)
    );

    // And a transition made now appears on it without reloading.
    browser
        .wait_for(
            "the live stream connected",
            "document.getElementById('live-status').textContent === 'Live: on'",
        )
        .await;
    let shown = "document.querySelectorAll('#transitions tbody tr').length === 4 && document.getElementById('state').textContent.includes('ok')";
    transition_without_reload(&mut browser, &d, &ids[0], "the new transition", shown).await;
    screenshot(&mut browser, "control.png", 1000).await;
    assert_accessible(&mut browser, axe.as_deref(), "a control page").await;

    // The login form (shown whether or not a token is set) and a page for a
    // workload that does not exist.
    for (path, what) in [
        ("/login", "the login form"),
        ("/controls/no-such-workload", "the not-found page"),
    ] {
        browser
            .call("Page.navigate", json!({ "url": format!("{base}{path}") }))
            .await;
        browser
            .wait_for(
                what,
                &format!("location.pathname === '{path}' && document.readyState === 'complete'"),
            )
            .await;
        assert_accessible(&mut browser, axe.as_deref(), what).await;
    }
    drop(browser);
    d.stop().await;
}

/// Flips `workload_id`'s answer and evaluates it, then waits until the open page
/// shows `shown` (a JavaScript condition) without having reloaded.
async fn transition_without_reload(
    browser: &mut Browser,
    d: &RunningDaemon,
    workload_id: &str,
    what: &str,
    shown: &str,
) {
    browser.eval("window.notReloaded = true").await;
    flip_answer(&d.sim, workload_id);
    d.daemon.evaluate(workload_id).await.unwrap();
    browser
        .wait_for(
            &format!("{what} without a reload"),
            &format!("window.notReloaded === true && {shown}"),
        )
        .await;
}

/// Saves the page, `width` CSS pixels wide, as `name` under `$REL04D_SCREENSHOTS`,
/// when that is set.
async fn screenshot(browser: &mut Browser, name: &str, width: u32) {
    let Some(dir) = std::env::var_os("REL04D_SCREENSHOTS") else {
        return;
    };
    let path = PathBuf::from(dir).join(name);
    browser.screenshot(&path, width).await;
    eprintln!("wrote {}", path.display());
}

/// axe-core's script, from `REL04D_AXE_JS`; `None` (said once) outside CI.
fn axe_script() -> Option<String> {
    match std::env::var_os("REL04D_AXE_JS") {
        Some(path) => Some(
            std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("REL04D_AXE_JS {}: {e}", path.display())),
        ),
        None => {
            assert!(
                std::env::var_os("CI").is_none(),
                "REL04D_AXE_JS is not set (scripts/test.sh installs axe-core and sets it)"
            );
            eprintln!("SKIPPED accessibility checks: REL04D_AXE_JS not set");
            None
        }
    }
}

/// Runs axe-core on the open page at a desktop and a phone width; fails naming
/// each violation, its impact and the elements it found.
async fn assert_accessible(browser: &mut Browser, axe: Option<&str>, what: &str) {
    let Some(axe) = axe else {
        return;
    };
    if browser.eval("typeof axe === 'object'").await != json!(true) {
        browser.eval(&format!("{axe}\n;true")).await;
    }
    for width in [1280, 390] {
        browser
            .call(
                "Emulation.setDeviceMetricsOverride",
                json!({ "width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600 }),
            )
            .await;
        let violations = browser
            .eval(
                "axe.run(document, { resultTypes: ['violations'] }).then(r => r.violations.map(v => \
                 `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map(n => n.target.join(' ')).join(', ')}`))",
            )
            .await;
        assert_eq!(
            violations,
            json!([]),
            "axe-core found accessibility violations on {what} at {width} px"
        );
    }
    browser
        .call("Emulation.clearDeviceMetricsOverride", json!({}))
        .await;
}
