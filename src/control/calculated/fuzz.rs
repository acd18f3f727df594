//! Issue 21, "done means": random templates and inputs, self-reference
//! included, against the renderer. Every render ends (fuel and the sandbox's
//! bounds), holds at most [`MAX_RENDER_ALLOCATION`] bytes at once (counted by
//! this test binary's allocator, per thread), and what a calculation stores
//! stays bounded however often its output is fed back as its input.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use proptest::prelude::*;
use serde_json::json;

use super::*;

/// Bytes one render may hold at once: the values it may build, what it may
/// write, and the engine's own bookkeeping. (What it allocates and frees again
/// over its steps is bounded by its fuel and time, not by this: a loop of
/// 100,000 small steps churns more than 16 MiB while holding little.)
const MAX_RENDER_ALLOCATION: usize = 16 * 1024 * 1024;

/// The system allocator, counting what each thread holds and its peak.
struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn count(grown: usize, freed: usize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get().saturating_add(grown).saturating_sub(freed);
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call is passed on to `System` unchanged; only a thread-local
// counter (no allocation, no destructor) is updated on the way.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size(), 0);
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size(), 0);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size, layout.size());
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(0, layout.size());
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The most `f` holds at once on this thread beyond what was held before, and
/// its result.
fn allocated_by<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let before = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(before));
    let result = f();
    (PEAK.with(Cell::get).saturating_sub(before), result)
}

fn expression() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("$.s".to_owned()),
        Just("$.items".to_owned()),
        Just("$.controls.items[0].details".to_owned()),
        Just("'x'".to_owned()),
        Just("\"ab\"".to_owned()),
        Just("[1, 2]".to_owned()),
        (0u64..8).prop_map(|n| n.to_string()),
        (10_000u64..2_000_000).prop_map(|n| n.to_string()),
        (0u64..200_000).prop_map(|n| format!("range({n})")),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} ~ {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} * {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} + {b})")),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(a, b, c)| format!("({a}|replace({b}, {c}))")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}|join({b}))")),
            inner.clone().prop_map(|a| format!("({a}|string)")),
            inner.clone().prop_map(|a| format!("({a}|list)")),
            inner.clone().prop_map(|a| format!("({a}|length)")),
            inner.prop_map(|a| format!("({a}|upper)")),
        ]
    })
}

fn template() -> impl Strategy<Value = String> {
    let statement = prop_oneof![
        expression().prop_map(|e| format!("{{{{ {e} }}}}")),
        expression().prop_map(|e| format!("{{% set v = {e} %}}{{{{ v|length }}}}")),
        (expression(), expression())
            .prop_map(|(a, b)| format!("{{% for i in {a} %}}{{{{ {b} }}}}{{% endfor %}}")),
        (expression(), expression()).prop_map(|(a, b)| format!(
            "{{% for i in {a} %}}{{% set w = {b} ~ i %}}{{% endfor %}}"
        )),
        (expression(), expression())
            .prop_map(|(a, b)| format!("{{% if {a} %}}True{{% else %}}{{{{ {b} }}}}{{% endif %}}")),
        Just("xxxxxxxxxxxxxxxx".to_owned()),
    ];
    prop::collection::vec(statement, 1..4).prop_map(|s| s.concat())
}

/// The input of the issue's self-reading calculation: other controls' details,
/// which hold the last calculation's trace.
fn input_reading(trace: &CalculationTrace, s: &str) -> serde_json::Value {
    let details = json!({ "policies": [{ "key": "constant_work", "calculation": trace }] });
    json!({
        "s": s,
        "items": ["a", "b", s],
        "controls": { "items": [{ "details": details }, { "details": details }] },
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn renders_stay_bounded_and_so_do_their_traces(
        template in template(),
        s in "[a-z]{0,64}",
    ) {
        let mut trace = CalculationTrace::new(&template, None, Ok(String::new()));
        let mut sizes = Vec::new();
        for _ in 0..4 {
            let input = input_reading(&trace, &s);
            let json = serde_json::to_string(&input).unwrap();
            let (allocated, result) = allocated_by(|| render(&template, &input));
            prop_assert!(
                allocated <= MAX_RENDER_ALLOCATION,
                "{template}: {allocated} bytes allocated"
            );
            if let Ok(output) = &result {
                prop_assert!(output.len() <= 1024);
            }
            trace = CalculationTrace::new(&template, Some(InputDigest::of(&json)), result);
            sizes.push(serde_json::to_string(&trace).unwrap().len());
        }
        // Fed back as input, a trace does not grow: bounded by its template.
        let bound = template.len() + 1024 + MAX_ERROR_BYTES + MAX_EXCERPT_BYTES + 512;
        prop_assert!(sizes.iter().all(|n| *n <= bound), "{sizes:?} > {bound}");
        // Once fed back, only the digits of the input's size, its excerpt and an
        // error quoting it may change, each within its own cap.
        prop_assert!(
            sizes[3] <= sizes[1] + 16 + MAX_EXCERPT_BYTES + MAX_ERROR_BYTES,
            "{sizes:?}"
        );
    }
}

#[test]
fn the_issue_s_template_allocates_little() {
    let (allocated, result) = allocated_by(|| {
        render(
            "{{ ('x' * 1000000)|replace('x', 'x' * 1000)|length }}",
            &json!({}),
        )
    });
    assert!(result.unwrap_err().contains("64 KiB"));
    assert!(allocated < 1024 * 1024, "{allocated}");
}
