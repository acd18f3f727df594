//! The two charts, drawn on the server as SVG: controls by state (muted ones
//! as a separate, hatched segment) and a control's history as state bands over
//! time. Each carries its figures as text too, and a `<title>` per shape.

use chrono::{DateTime, Utc};
use maud::{Markup, html};

use super::layout::{css_state, icon};
use crate::control::ControlState;

/// Active controls in one state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateBar {
    pub state: ControlState,
    pub unmuted: i64,
    pub muted: i64,
}

const LABEL_WIDTH: f64 = 120.0;
const BAR_SPACE: f64 = 360.0;
const ROW_HEIGHT: f64 = 28.0;

/// Horizontal bars, one row per state, scaled to the largest.
pub fn state_bars(bars: &[StateBar]) -> Markup {
    let largest = bars
        .iter()
        .map(|b| b.unmuted + b.muted)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let height = ROW_HEIGHT * bars.len() as f64;
    let total: i64 = bars.iter().map(|b| b.unmuted + b.muted).sum();
    html! {
        svg.chart viewBox={ "0 0 " (LABEL_WIDTH + BAR_SPACE + 120.0) " " (height) }
            role="img" aria-labelledby="state-chart-title" {
            title #state-chart-title { "Controls by state: " (total) " active" }
            defs {
                pattern #hatch width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)" {
                    rect.hatch-bg width="6" height="6" {}
                    line.hatch-line x1="0" y1="0" x2="0" y2="6" {}
                }
            }
            @for (row, bar) in bars.iter().enumerate() {
                @let y = row as f64 * ROW_HEIGHT;
                @let state = bar.state.as_str();
                @let unmuted_width = BAR_SPACE * bar.unmuted as f64 / largest;
                @let muted_width = BAR_SPACE * bar.muted as f64 / largest;
                g class={ "bar state-" (state) } {
                    text x="0" y=(y + 19.0) { (icon(state)) " " (state) }
                    rect x=(LABEL_WIDTH) y=(y + 4.0) width=(unmuted_width) height="20" {
                        title { (bar.unmuted) " " (state) }
                    }
                    rect.muted x=(LABEL_WIDTH + unmuted_width) y=(y + 4.0) width=(muted_width) height="20" fill="url(#hatch)" {
                        title { (bar.muted) " " (state) ", muted" }
                    }
                    text.figure x=(LABEL_WIDTH + unmuted_width + muted_width + 6.0) y=(y + 19.0) {
                        (bar.unmuted + bar.muted)
                        @if bar.muted > 0 { " (" (bar.muted) " muted)" }
                    }
                }
            }
        }
    }
}

/// One span of a control's history: `state` from `from` until `until`.
#[derive(Clone, Debug, PartialEq)]
pub struct Band {
    pub state: String,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

const TIMELINE_WIDTH: f64 = 800.0;
const BAND_HEIGHT: f64 = 36.0;

/// State bands over time, left (oldest) to right (now).
pub fn timeline(bands: &[Band]) -> Markup {
    let (Some(first), Some(last)) = (bands.first(), bands.last()) else {
        return html! { p { "No transitions recorded yet." } };
    };
    let span = (last.until - first.from).num_milliseconds().max(1) as f64;
    let x = |at: DateTime<Utc>| TIMELINE_WIDTH * (at - first.from).num_milliseconds() as f64 / span;
    let label = |at: DateTime<Utc>| at.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    html! {
        svg.chart.timeline viewBox={ "0 0 " (TIMELINE_WIDTH) " " (BAND_HEIGHT + 22.0) }
            role="img" aria-labelledby="timeline-title" {
            title #timeline-title {
                "State over time, from " (label(first.from)) " to " (label(last.until))
                ": " (bands.len()) " periods (listed in the table below)"
            }
            @for band in bands {
                @let (start, end) = (x(band.from), x(band.until));
                @let width = (end - start).max(1.0);
                g class={ "band state-" (css_state(&band.state)) } {
                    rect x=(start) y="0" width=(width) height=(BAND_HEIGHT) {
                        title { (band.state) " from " (label(band.from)) " until " (label(band.until)) }
                    }
                    @if width > 70.0 {
                        text x=(start + 6.0) y="23" { (icon(&band.state)) " " (band.state) }
                    }
                }
            }
            text.axis x="0" y=(BAND_HEIGHT + 16.0) { (label(first.from)) }
            text.axis x=(TIMELINE_WIDTH) y=(BAND_HEIGHT + 16.0) text-anchor="end" { "now" }
        }
    }
}

/// Bands from transitions given oldest first as `(state it entered, when)`.
pub fn bands(entered: &[(String, DateTime<Utc>)], now: DateTime<Utc>) -> Vec<Band> {
    entered
        .iter()
        .enumerate()
        .map(|(i, (state, from))| Band {
            state: state.clone(),
            from: *from,
            until: entered.get(i + 1).map_or(now, |(_, next)| *next).max(*from),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn each_band_lasts_until_the_next_transition_and_the_last_until_now() {
        let at = |s| Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, s).unwrap();
        let entered = vec![("tbd".to_owned(), at(0)), ("alarm".to_owned(), at(10))];
        let bands = bands(&entered, at(30));
        assert_eq!(bands[0].until, at(10));
        assert_eq!(bands[1].from, at(10));
        assert_eq!(bands[1].until, at(30));
        let svg = timeline(&bands).into_string();
        assert!(svg.contains("alarm from 2026-01-01 00:00:10 UTC"), "{svg}");
        // The alarm band is two thirds of the width.
        assert!(svg.contains(r#"x="266.6666666666667""#), "{svg}");
    }

    #[test]
    fn bars_say_their_figures_in_text_and_muted_apart() {
        let bars = [
            StateBar {
                state: ControlState::Ok,
                unmuted: 3,
                muted: 0,
            },
            StateBar {
                state: ControlState::Alarm,
                unmuted: 1,
                muted: 2,
            },
        ];
        let svg = state_bars(&bars).into_string();
        assert!(svg.contains("Controls by state: 6 active"), "{svg}");
        assert!(svg.contains("3 (2 muted)"), "{svg}");
        assert!(svg.contains("✖ alarm"), "{svg}");
    }
}
