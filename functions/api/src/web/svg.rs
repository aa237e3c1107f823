//! Charts as SVG, drawn on the server: a line chart for trends and horizontal bars for
//! comparisons. No script, no styles: presentation attributes only (the pages' CSP
//! forbids inline styles). maud templates like the pages, so every label is escaped by
//! type; every element is closed explicitly (`{}`), as SVG inside HTML needs.

use maud::{html, Markup};

/// Colours of successive series (accessible on white).
const PALETTE: [&str; 4] = ["#1f5fa8", "#c2410c", "#15803d", "#7c3aed"];

/// One line of a line chart: a value per x position (`None` where there is no data).
pub struct Series<'a> {
    pub name: &'a str,
    pub values: Vec<Option<f64>>,
}

/// One bar: its label, value, the text shown beside it, and last period's value (drawn
/// as a tick, so the change is visible).
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub shown: String,
    pub previous: Option<f64>,
}

fn num(x: f64) -> String {
    // Two decimals are plenty for pixel positions and keep the markup small.
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The runs of consecutive points with data (gaps break a line), as `x,y` lists.
fn segments(values: &[Option<f64>], at: impl Fn(usize, f64) -> String) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Vec<String> = Vec::new();
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => current.push(at(i, *v)),
            None => {
                if current.len() > 1 {
                    out.push(current.join(" "));
                }
                current.clear();
            }
        }
    }
    if current.len() > 1 {
        out.push(current.join(" "));
    }
    out
}

/// A line chart of `series` over `x_labels`, y from 0 to `y_max` (for example 100 for
/// percentages), `unit` appended to axis labels.
pub fn line_chart(
    title: &str,
    x_labels: &[String],
    series: &[Series],
    y_max: f64,
    unit: &str,
) -> Markup {
    let (w, h) = (640.0, 280.0);
    let (left, right, top, bottom) = (48.0, 16.0, 16.0, 64.0);
    let plot_w = w - left - right;
    let plot_h = h - top - bottom;
    let y_max = if y_max > 0.0 { y_max } else { 1.0 };
    let n = x_labels.len().max(1);
    let x_at = |i: usize| {
        if n == 1 {
            left + plot_w / 2.0
        } else {
            left + plot_w * i as f64 / (n - 1) as f64
        }
    };
    let y_at = |v: f64| top + plot_h * (1.0 - (v / y_max).clamp(0.0, 1.0));
    // At most ~8 x labels, so they never overlap.
    let every = n.div_ceil(8).max(1);
    html! {
        svg class="chart" viewBox={ "0 0 " (w) " " (h) } role="img" aria-label=(title) xmlns="http://www.w3.org/2000/svg" {
            title { (title) }
            @for step in 0..=4 {
                @let v = y_max * f64::from(step) / 4.0;
                @let y = num(y_at(v));
                line x1=(left) x2=(num(w - right)) y1=(y) y2=(y) stroke="#d4d4d8" stroke-width="1" {}
                text x=(num(left - 6.0)) y=(y) dy="4" text-anchor="end" font-size="11" fill="#52525b" { (num(v)) (unit) }
            }
            @for (i, label) in x_labels.iter().enumerate() {
                @if i % every == 0 || i == n - 1 {
                    text x=(num(x_at(i))) y=(num(h - bottom + 16.0)) text-anchor="middle" font-size="11" fill="#52525b" { (label) }
                }
            }
            @for (s, line) in series.iter().enumerate() {
                @let colour = PALETTE[s % PALETTE.len()];
                @for points in segments(&line.values, |i, v| format!("{},{}", num(x_at(i)), num(y_at(v)))) {
                    polyline fill="none" stroke=(colour) stroke-width="2.5" points=(points) {}
                }
                @for (i, v) in line.values.iter().enumerate() {
                    @if let Some(v) = v {
                        circle cx=(num(x_at(i))) cy=(num(y_at(*v))) r="3.5" fill=(colour) {
                            title { (line.name) ": " (x_labels.get(i).map(String::as_str).unwrap_or("")) " " (num(*v)) (unit) }
                        }
                    }
                }
                // Legend under the axis labels.
                @let (lx, ly) = (left + 170.0 * s as f64, h - 18.0);
                rect x=(num(lx)) y=(num(ly - 4.0)) width="14" height="4" fill=(colour) {}
                text x=(num(lx + 20.0)) y=(num(ly)) font-size="12" fill="#18181b" { (line.name) }
            }
        }
    }
}

/// Horizontal bars, longest scale `max` (the largest value when `None`).
pub fn bar_chart(title: &str, bars: &[Bar], max: Option<f64>) -> Markup {
    let row = 28.0;
    let (w, label_w, value_w, top) = (640.0, 200.0, 90.0, 8.0);
    let bar_w = w - label_w - value_w;
    let h = top * 2.0 + row * bars.len().max(1) as f64;
    let max = max
        .unwrap_or_else(|| {
            bars.iter()
                .flat_map(|b| [b.value, b.previous.unwrap_or(0.0)])
                .fold(0.0, f64::max)
        })
        .max(f64::MIN_POSITIVE);
    html! {
        svg class="chart" viewBox={ "0 0 " (w) " " (num(h)) } role="img" aria-label=(title) xmlns="http://www.w3.org/2000/svg" {
            title { (title) }
            @if bars.is_empty() {
                text x=(num(label_w)) y="24" font-size="12" fill="#52525b" { "—" }
            }
            @for (i, b) in bars.iter().enumerate() {
                @let y = top + row * i as f64;
                @let len = bar_w * (b.value / max).clamp(0.0, 1.0);
                text x=(num(label_w - 8.0)) y=(num(y + 14.0)) text-anchor="end" font-size="12" fill="#18181b" { (b.label) }
                rect x=(label_w) y=(num(y + 1.0)) width=(num(len)) height="18" fill=(PALETTE[0]) {
                    title { (b.label) ": " (b.shown) }
                }
                text x=(num(label_w + len + 6.0)) y=(num(y + 14.0)) font-size="12" fill="#18181b" { (b.shown) }
                @if let Some(p) = b.previous {
                    @let px = num(label_w + bar_w * (p / max).clamp(0.0, 1.0));
                    line x1=(px) x2=(px) y1=(num(y - 1.0)) y2=(num(y + 21.0)) stroke="#18181b" stroke-width="2" {
                        title { "previous: " (num(p)) }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_chart_draws_each_series_and_breaks_at_gaps() {
        let labels: Vec<String> = ["W1", "W2", "W3", "W4"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let svg = line_chart(
            "CSAT",
            &labels,
            &[
                Series {
                    name: "CSAT",
                    values: vec![Some(50.0), Some(75.0), None, Some(100.0)],
                },
                Series {
                    name: "Repeat rate",
                    values: vec![Some(10.0), Some(20.0), Some(30.0), Some(40.0)],
                },
            ],
            100.0,
            "%",
        )
        .into_string();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        // Series 1 has a gap: one two-point segment (the last point stands alone).
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<circle").count(), 7);
        // 100 % sits on the top grid line (y = top = 16), 0 % on the bottom one.
        assert!(svg.contains("cy=\"16\""));
        assert!(!svg.contains("style="));
    }

    #[test]
    fn bars_scale_to_the_largest_value_and_mark_the_previous_period() {
        let svg = bar_chart(
            "Volume",
            &[
                Bar {
                    label: "Fees".into(),
                    value: 10.0,
                    shown: "10".into(),
                    previous: Some(5.0),
                },
                Bar {
                    label: "Payments".into(),
                    value: 5.0,
                    shown: "5".into(),
                    previous: None,
                },
            ],
            None,
        )
        .into_string();
        // The longest bar fills the bar area (640 − 200 − 90 = 350), the other half of it.
        assert!(svg.contains("width=\"350\""));
        assert!(svg.contains("width=\"175\""));
        assert_eq!(svg.matches("<line").count(), 1);
    }

    #[test]
    fn labels_in_charts_are_escaped() {
        let svg = bar_chart(
            "<b>t</b>",
            &[Bar {
                label: "<script>alert(1)</script>".into(),
                value: 1.0,
                shown: "1".into(),
                previous: None,
            }],
            Some(1.0),
        )
        .into_string();
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(svg.contains("&lt;b&gt;t&lt;/b&gt;"));
    }
}
