//! The served site in headless Chromium: search, dark mode, links, and an
//! edit that appears without a manual reload.

use crate::common::serve::Serve;
use crate::common::webdriver::Browser;
use crate::common::Repo;

#[test]
fn a_reader_searches_toggles_dark_mode_follows_a_link_and_sees_an_edit() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let repo = Repo::small("browser");
    let filler: String = (0..150)
        .map(|i| format!("Paragraph {i} of a long page.\n\n"))
        .collect();
    repo.write("content/guide/b.md", &format!("---\ntitle: Beta\nweight: 2\n---\n# Beta\n\n## Usage\n\nThe firstRecoverabilityPoint field.\n\nBack to [alpha](../a.md#setup).\n\n{filler}"));
    let serve = Serve::start(&repo.root);
    serve.wait_for("the first build", |s| s["site"].as_u64().unwrap() >= 1);
    let base = format!("http://127.0.0.1:{}", serve.port);

    browser.goto(&format!("{base}/a.html"));
    browser.wait("the page", "return document.readyState === 'complete' && !!document.querySelector('#sidebar a[aria-current=page]')");

    // Search, typed like a person would.
    browser.type_into("#search", "firstRecov");
    browser.wait("search results", "var a = document.querySelector('#search-results a'); return !!a && a.getAttribute('href').indexOf('guide/b.html') >= 0");

    // Dark mode: toggled, applied, remembered across a reload.
    let before = browser.js("return getComputedStyle(document.body).backgroundColor");
    browser.click(".theme-toggle");
    let theme = browser.js("return document.documentElement.dataset.theme");
    assert!(theme == "dark" || theme == "light", "{theme}");
    let after = browser.js("return getComputedStyle(document.body).backgroundColor");
    assert_ne!(before, after, "the colours change");
    browser.goto(&format!("{base}/a.html"));
    browser.wait("the reload", "return document.readyState === 'complete'");
    assert_eq!(
        browser.js("return document.documentElement.dataset.theme"),
        theme,
        "the choice persists"
    );

    // Follow a link between pages.
    browser.click("a[href='guide/b.html#usage']");
    browser.wait("the linked page", "return location.pathname === '/guide/b.html' && location.hash === '#usage' && document.readyState === 'complete'");

    // An edit shows up without touching the browser.
    browser.wait("the live connection", "return performance.getEntriesByType('resource').some(function (e) { return e.name.indexOf('/__docs/poll') >= 0; })");
    let text = repo.read("content/guide/b.md") + "\nLIVE-EDIT-MARKER\n";
    repo.write("content/guide/b.md", &text);
    browser.wait(
        "the edit to appear",
        "return document.body.innerText.indexOf('LIVE-EDIT-MARKER') >= 0",
    );
    assert_eq!(browser.js("return location.pathname"), "/guide/b.html");
}
