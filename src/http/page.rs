//! The look shared by every page cairn generates for people (error pages, directory listings,
//! DAG previews, the upload receipt): one stylesheet and the page shell around each page's
//! own content. Pages are self-contained (inline CSS and SVG, no script, no external asset),
//! so they render the same on every origin, offline and under a strict CSP.

use std::fmt::Write;

/// The stylesheet of every page; part of the listing's and DAG preview's Etag (a change here
/// changes them).
pub const STYLE: &str = "\
:root{color-scheme:light dark;--fg:#1d232b;--muted:#5d6875;--line:#e3e7ec;--bg:#fff;\
--panel:#f5f7fa;--link:#0b5cad;--accent:#1f7a8c;--warn:#a15c00;--bad:#b3261e}\
@media (prefers-color-scheme:dark){:root{--fg:#e6e9ed;--muted:#9aa5b1;--line:#2c333b;\
--bg:#14181d;--panel:#1c2128;--link:#6cb6ff;--accent:#4fb3c4;--warn:#e0a040;--bad:#ff7b72}}\
*{box-sizing:border-box}\
body{font:16px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:var(--fg);\
background:var(--bg)}\
main{max-width:62em;margin:0 auto;padding:1.5em 1.25em 3em}\
.brand{font-size:.8em;letter-spacing:.08em;text-transform:uppercase;color:var(--muted);\
border-bottom:1px solid var(--line);padding:.75em 1.25em}\
.brand b{color:var(--accent)}\
h1{font-size:1.35em;margin:.6em 0 .3em;line-height:1.3;word-break:break-word}\
h2{font-size:1em;margin:1.6em 0 .5em;color:var(--muted);font-weight:600}\
a{color:var(--link);text-decoration:none}a:hover{text-decoration:underline}\
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}\
pre{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:1em;margin:.4em 0;\
overflow:auto;white-space:pre-wrap;word-break:break-word}\
.path{background:var(--panel);border:1px solid var(--line);border-radius:6px;\
padding:.55em .8em;word-break:break-all;display:block}\
.muted{color:var(--muted)}\
.status{display:inline-block;font-weight:700;border-radius:4px;padding:.1em .5em;\
color:#fff;background:var(--warn);margin-right:.5em}\
.status.s5{background:var(--bad)}\
.actions{display:flex;flex-wrap:wrap;gap:.5em;margin:1em 0;padding:0;list-style:none}\
.actions a{display:inline-block;border:1px solid var(--line);border-radius:6px;\
padding:.35em .8em;background:var(--panel)}\
.actions a.primary{border-color:var(--accent);color:var(--accent);font-weight:600}\
.hint{border-left:3px solid var(--accent);padding:.2em 0 .2em .9em;margin:1em 0}\
table{border-collapse:collapse;width:100%}\
td,th{padding:.4em .6em;border-bottom:1px solid var(--line);vertical-align:middle}\
th{text-align:left;font-size:.8em;font-weight:600;color:var(--muted);text-transform:uppercase;\
letter-spacing:.05em}th.size{text-align:right}section{margin-top:1.2em}\
tr:hover td{background:var(--panel)}\
td.size{text-align:right;white-space:nowrap;color:var(--muted)}\
td.cid{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em;white-space:nowrap}\
td.icon{width:1.6em;padding-right:0}\
svg.i{width:1.15em;height:1.15em;vertical-align:-.2em;fill:var(--muted)}\
tr.dir svg.i{fill:var(--accent)}\
tr.dir td.name a{font-weight:600}tr.dir .slash{color:var(--muted);font-weight:600}\
.crumbs a{margin:0 .1em}\
.ipfs-hash{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em;\
color:var(--muted);word-break:break-all}\
.dag a.cid{font-weight:600}";

/// Starts a page: doctype, head (title, the stylesheet) and the top bar; the caller writes
/// the content of `<main>`, then [`end`]. `title` must be HTML-escaped already.
pub fn start(out: &mut String, title: &str) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1.0\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <div class=\"brand\"><b>cairn</b> &middot; IPFS gateway</div>\n<main id=\"main\">\n"
    );
}

/// Closes what [`start`] opened.
pub fn end(out: &mut String) {
    out.push_str("</main>\n</body>\n</html>\n");
}
