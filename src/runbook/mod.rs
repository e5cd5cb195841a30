//! The runbook model: a page with `runbook: true` whose runnable (`run`)
//! code blocks are its steps, in the order and with the numbers the
//! page's outline gives them. `docs build` shows these steps, `docs check`
//! validates them and `docs run` executes them — all from this one model,
//! so the site, the checker and the executor agree on what step 6 is.
//!
//! A step is a shell script (`bash`/`sh`) or a Kubernetes action (`yaml`
//! with `action=`): see [`step`] for the vocabulary.

mod parse;
pub mod step;
mod syntax;

use crate::content::outline::Outline;
use crate::content::{Content, Page};
pub use step::{Assertion, Kind, Step, StepError, Target};

/// Attributes of a code block that belong to runbook steps.
pub const ATTRIBUTES: &[&str] = &[
    "run",
    "name",
    "action",
    "destructive",
    "readonly",
    "idempotent",
    "wait",
    "timeout",
    "troubleshoot",
];

/// The steps of one runbook page.
#[derive(Debug, Clone)]
pub struct Runbook<'p> {
    pub steps: Vec<Step>,
    page: std::marker::PhantomData<&'p Page>,
}

impl<'p> Runbook<'p> {
    /// The steps of `page`, from its outline. Steps that do not parse are
    /// returned as errors (with the step they belong to), so that `docs
    /// check` can report every one; `docs run` refuses to start on any.
    pub fn read(page: &'p Page, outline: &Outline) -> (Runbook<'p>, Vec<StepError>) {
        let mut steps = Vec::new();
        let mut errors = Vec::new();
        for block in &outline.blocks {
            if block.step.is_none() {
                continue;
            }
            match Step::parse(page, block) {
                Ok(s) => steps.push(s),
                Err(mut e) => errors.append(&mut e),
            }
        }
        let mut seen: Vec<(&str, usize)> = Vec::new();
        for s in &steps {
            if let Some((_, first)) = seen.iter().find(|(n, _)| *n == s.name) {
                errors.push(StepError::at(
                    page,
                    s.line,
                    s.indent + 1,
                    format!(
                        "step name `{}` is used twice (also step {first}); names must be unique",
                        s.name
                    ),
                ));
            } else {
                seen.push((&s.name, s.number));
            }
        }
        (
            Runbook {
                steps,
                page: std::marker::PhantomData,
            },
            errors,
        )
    }

    /// The namespaces the runbook's Kubernetes steps touch, sorted.
    pub fn namespaces(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .steps
            .iter()
            .filter_map(|s| s.action())
            .flat_map(|a| {
                std::iter::once(a.target.namespace.as_deref())
                    .chain(a.fail_if.iter().map(|f| f.target.namespace.as_deref()))
            })
            .flatten()
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// The runbook pages of the content, in navigation order.
pub fn pages(content: &Content) -> impl Iterator<Item = &Page> {
    content.pages.iter().filter(|p| p.front.runbook)
}

/// The runbook page named `name`: its file stem (`cnpg-disaster-recovery`)
/// or its path (`content/cnpg-disaster-recovery.md`, relative to the
/// content directory or the repository). The error lists the runbooks there
/// are, with a "did you mean".
pub fn find<'c>(content: &'c Content, name: &str) -> Result<&'c Page, String> {
    let wanted = name.trim_end_matches(".md").replace('\\', "/");
    let found = pages(content).find(|p| {
        let rel = p.rel.trim_end_matches(".md");
        let file = p.file.to_string_lossy().replace('\\', "/");
        let stem = rel.rsplit('/').next().unwrap_or(rel);
        rel == wanted || stem == wanted || file.trim_end_matches(".md") == wanted
    });
    if let Some(p) = found {
        return Ok(p);
    }
    let names: Vec<String> = pages(content).map(stem).collect();
    if names.is_empty() {
        return Err(format!(
            "no runbook `{name}`: no page of the content has `runbook: true` in its front matter"
        ));
    }
    let hint = crate::suggest::closest(&wanted, names.iter().map(String::as_str))
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default();
    let not_runbook = if content.pages.iter().any(|p| stem(p) == wanted) {
        " (that page has no `runbook: true`)"
    } else {
        ""
    };
    Err(format!(
        "no runbook `{name}`{not_runbook}{hint}\nrunbooks: {}",
        names.join(", ")
    ))
}

/// The name `docs run` knows a runbook by: its file stem.
pub fn stem(page: &Page) -> String {
    let rel = page.rel.trim_end_matches(".md");
    rel.rsplit('/').next().unwrap_or(rel).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::{parse_page, Expanded};

    fn page(rel: &str, text: &str) -> Page {
        parse_page(
            text.as_bytes().to_vec(),
            rel,
            format!("content/{rel}").into(),
        )
        .unwrap()
    }

    #[test]
    fn find_by_stem_or_path_and_suggest() {
        let content = Content {
            pages: vec![
                page("guide/dr.md", "---\nrunbook: true\n---\n# DR\n"),
                page("intro.md", "# Intro\n"),
            ],
            assets: vec![],
        };
        assert_eq!(find(&content, "dr").unwrap().rel, "guide/dr.md");
        assert_eq!(find(&content, "guide/dr.md").unwrap().rel, "guide/dr.md");
        assert_eq!(
            find(&content, "content/guide/dr").unwrap().rel,
            "guide/dr.md"
        );
        let e = find(&content, "dx").unwrap_err();
        assert!(
            e.contains("did you mean `dr`?") && e.contains("runbooks: dr"),
            "{e}"
        );
        let e = find(&content, "intro").unwrap_err();
        assert!(e.contains("no `runbook: true`"), "{e}");
    }

    #[test]
    fn steps_are_numbered_like_the_outline_and_names_are_unique() {
        let p = page(
            "dr.md",
            "---\nrunbook: true\n---\n```bash {run name=a}\necho 1\n```\n\n```yaml {example}\nx: 1\n```\n\n```bash {run name=a}\necho 2\n```\n",
        );
        let outline = Outline::of(&p, &Expanded::unexpanded(&p.body)).unwrap();
        let (rb, errors) = Runbook::read(&p, &outline);
        assert_eq!(
            rb.steps.iter().map(|s| s.number).collect::<Vec<_>>(),
            [1, 2]
        );
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.contains("used twice"), "{:?}", errors[0]);
        assert_eq!(errors[0].location.line, 12);
    }
}
