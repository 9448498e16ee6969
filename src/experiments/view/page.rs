//! The pages themselves: the hand-written HTML, CSS and JS of `assets/view/` (embedded with
//! `include_str!`, no build step) with the page's data as one JSON block, numbers rounded to
//! four significant digits (the page shows three), so that the file stays small. A run's
//! page is `page.html` + `view.js`; a sweep's is `sweep.html` + `sweep.js`; both take
//! `view.css` (the sweep's own rules in `sweep.css` after it) and `common.js` (the chart
//! tooltip and axis ticks) before their own code.
use crate::error::{Error, Result};
use serde::Serialize;

const HTML: &str = include_str!("../../../assets/view/page.html");
const CSS: &str = include_str!("../../../assets/view/view.css");
const JS: &str = include_str!("../../../assets/view/view.js");
const SWEEP_HTML: &str = include_str!("../../../assets/view/sweep.html");
const SWEEP_CSS: &str = include_str!("../../../assets/view/sweep.css");
const SWEEP_JS: &str = include_str!("../../../assets/view/sweep.js");
/// What both pages' code uses (the chart tooltip, axis ticks), put before either.
const COMMON_JS: &str = include_str!("../../../assets/view/common.js");

/// Which page to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// One run (`ViewData`).
    Run,
    /// A sweep (`sweep::SweepViewData`).
    Sweep,
}

/// Significant digits kept of every non-integer number in the embedded JSON.
pub const DIGITS: i32 = 4;

/// The complete run page for `data`, titled `title`.
pub fn render<T: Serialize>(title: &str, data: &T) -> Result<String> {
    render_page(Page::Run, title, data)
}

/// The complete `page` for `data`, titled `title`.
pub fn render_page<T: Serialize>(page: Page, title: &str, data: &T) -> Result<String> {
    let (html, css, js) = match page {
        Page::Run => (HTML, CSS.to_string(), JS),
        Page::Sweep => (SWEEP_HTML, format!("{CSS}\n{SWEEP_CSS}"), SWEEP_JS),
    };
    let js = format!("{COMMON_JS}\n{js}");
    let js = js.as_str();
    let mut value = serde_json::to_value(data).map_err(json_error)?;
    round_numbers(&mut value);
    let json = serde_json::to_string(&value).map_err(json_error)?;
    // `<` only occurs inside JSON strings, where `\u003c` means the same: no `</script>`
    // or `<!--` can end the data block early.
    let json = json.replace('<', "\\u003c");
    let mut out = String::with_capacity(html.len() + css.len() + js.len() + json.len());
    let mut rest = html;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let j = after
            .find("}}")
            .ok_or_else(|| template_error("an unclosed {{"))?;
        match &after[..j] {
            "TITLE" => out.push_str(&escape_html(title)),
            "CSS" => out.push_str(&css),
            "JS" => out.push_str(js),
            "DATA" => out.push_str(&json),
            other => return Err(template_error(&format!("an unknown slot {{{{{other}}}}}"))),
        }
        rest = &after[j + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn json_error(e: serde_json::Error) -> Error {
    Error::Invalid(format!("the page's data cannot be written as JSON: {e}"))
}

fn template_error(what: &str) -> Error {
    Error::Invalid(format!("a page template of assets/view/ has {what}"))
}

/// `s` safe as HTML text and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Round every floating-point number in `v` to `DIGITS` significant digits (integers and
/// non-finite values stay as they are).
pub fn round_numbers(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Number(n) if n.is_f64() => {
            if let Some(r) = n
                .as_f64()
                .map(round_sig)
                .and_then(serde_json::Number::from_f64)
            {
                *n = r;
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(round_numbers),
        serde_json::Value::Object(o) => o.values_mut().for_each(round_numbers),
        _ => {}
    }
}

/// `x` rounded to `DIGITS` significant digits.
fn round_sig(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let scale = DIGITS - 1 - x.abs().log10().floor() as i32;
    let p = 10f64.powi(scale.abs());
    let r = if scale >= 0 {
        (x * p).round() / p
    } else {
        (x / p).round() * p
    };
    if r.is_finite() {
        r
    } else {
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_four_significant_digits() {
        let mut v = serde_json::json!({"a": [0.123456, 12345.678, 3, -0.000123456], "b": 1.0});
        round_numbers(&mut v);
        assert_eq!(
            v.to_string(),
            r#"{"a":[0.1235,12350.0,3,-0.0001235],"b":1.0}"#
        );
    }

    #[test]
    fn the_data_cannot_close_its_script_block() {
        for kind in [Page::Run, Page::Sweep] {
            let data = serde_json::json!({"x": "</script><!--"});
            let page = render_page(kind, "a <b> & \"c\"", &data).unwrap();
            assert!(!page.contains("</script><!--"));
            assert!(page.contains(r#""x":"\u003c/script>\u003c!--""#));
            assert!(page.contains("a &lt;b&gt; &amp; &quot;c&quot;"));
            assert!(!page.contains("{{"), "every slot filled");
        }
    }
}
