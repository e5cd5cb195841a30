//! Runbook steps, checked through the runbook model that `docs run`
//! executes: each step parses (kind, attributes, one object, a unique
//! name), the objects it creates or applies validate against the CRD
//! schemas, the paths it asserts or waits on exist in the kind's schema,
//! and its troubleshooting pointer leads to a section of the page — so
//! that a typo is found now, not at 3 a.m.

use crate::code::Code;
use crate::content::outline::Outline;
use crate::content::Page;
use crate::diagnostic::Diagnostic;
use crate::error::Location;
use crate::runbook::{Kind, Runbook, Step};
use crate::schema::Schemas;
use crate::yaml::Node;

pub fn check(
    page: &Page,
    outline: &Outline,
    schemas: Option<&Schemas>,
    out: &mut Vec<Diagnostic>,
    step_objects: &mut Vec<(Node, Location)>,
) {
    let has_steps = outline.blocks.iter().any(|b| b.step.is_some());
    if !has_steps {
        return;
    }
    if !page.front.runbook {
        let first = outline.blocks.iter().find(|b| b.step.is_some());
        let line = first.map_or(0, |b| b.line);
        out.push(
            Diagnostic::error(
                Code::RunbookStep,
                Location::new(&page.file, line, 1),
                "a runnable (`run`) block on a page that is not a runbook",
            )
            .with_note("add `runbook: true` to the front matter, or remove `run`"),
        );
        return;
    }
    let (runbook, errors) = Runbook::read(page, outline);
    for e in errors {
        out.push(Diagnostic::error(Code::RunbookStep, e.location, e.message));
    }
    let anchors: Vec<String> = outline.anchors().collect();
    for step in &runbook.steps {
        check_step(page, step, &anchors, schemas, out, step_objects);
    }
}

fn check_step(
    page: &Page,
    step: &Step,
    anchors: &[String],
    schemas: Option<&Schemas>,
    out: &mut Vec<Diagnostic>,
    step_objects: &mut Vec<(Node, Location)>,
) {
    let fence = Location::new(&page.file, step.line, step.indent + 1);
    if let Some(anchor) = step
        .troubleshoot
        .as_deref()
        .and_then(|t| t.strip_prefix('#'))
    {
        if !anchors.iter().any(|a| a == anchor) {
            let mut d = Diagnostic::error(
                Code::BrokenAnchor,
                fence.clone(),
                format!(
                    "step `{}` points at `#{anchor}`, which this page does not have",
                    step.name
                ),
            );
            if let Some(best) = crate::suggest::closest(anchor, anchors.iter().map(String::as_str))
            {
                d = d.with_note(format!("did you mean `#{best}`?"));
            }
            out.push(d);
        }
    }
    let Kind::Kube(action) = &step.kind else {
        return;
    };
    // Positions inside a generated (templated) block are not the file's.
    let templated = step.templated;
    let locate = |n: &Node| {
        if templated {
            fence.clone()
        } else {
            Location::new(&page.file, step.line + n.line, step.indent + n.col)
        }
    };
    if action.verb.takes_object() {
        if let Some(schemas) = schemas {
            schemas.validate(&action.node, &locate, out);
        }
        step_objects.push((action.node.clone(), fence.clone()));
    }
    let Some(schemas) = schemas else { return };
    let target = &action.target;
    let mut paths: Vec<(&crate::runbook::Target, &crate::runbook::Assertion)> = action
        .assertions
        .iter()
        .map(|a| (target, a))
        .chain(action.fail_if.iter().map(|f| (&f.target, &f.assertion)))
        .collect();
    let waited = action.wait_for.as_ref().and_then(|w| w.assertion());
    if let Some(w) = &waited {
        paths.push((target, w));
    }
    for (t, a) in paths {
        if let Err(e) = schemas.check_path(&t.api_version, &t.kind, &a.path) {
            let at = if a.line == 0 || templated {
                fence.clone()
            } else {
                Location::new(&page.file, step.line + a.line, step.indent + 1)
            };
            out.push(Diagnostic::error(
                Code::RunbookStep,
                at,
                format!(
                    "step `{}`: `{}` is not a field of {} ({e})",
                    step.name,
                    a.path_text(),
                    t.kind
                ),
            ));
        }
    }
}
