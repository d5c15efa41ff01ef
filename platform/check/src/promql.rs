//! Reading PromQL with promql-parser: the metric names an expression selects, and whether
//! its `histogram_quantile` calls keep the buckets.
//!
//! The expressions come from dashboards, where Grafana's variables (`$__rate_interval`,
//! `${service:regex}`) and `label_values(metric, label)` stand in them, and those are not
//! PromQL: [`substitute_grafana`] puts PromQL in their place first.
//!
//! Behind the `promql` feature (on by default, off where the workshop's commands use this
//! crate): the parser's grammar is generated at build time, which the attendee's
//! preparation has no use for.

use std::collections::BTreeSet;
use std::convert::Infallible;

use promql_parser::parser::{self, AggregateExpr, Expr, LabelModifier};
use promql_parser::util::{ExprVisitor, walk_expr};

/// Grafana's interval variables, each standing for a range.
const INTERVALS: [&str; 3] = ["__rate_interval", "__interval", "__range"];

/// `expr` with Grafana's variables replaced: its intervals by `1m`, any other variable
/// (`$service`, `${service:regex}`, which stand inside label matchers' strings) by `x`; and
/// Grafana's `label_values(metric, label)` by `metric`. A hand-written scan: Grafana's
/// syntax is not PromQL, and a parser of it would be a crate of its own for four forms.
pub fn substitute_grafana(expr: &str) -> String {
    let expr = expr.trim();
    if let Some(arguments) = expr
        .strip_prefix("label_values(")
        .and_then(|rest| rest.strip_suffix(')'))
    {
        // The last argument is the label; a lone one is a label with no metric at all.
        return arguments
            .rsplit_once(',')
            .map_or_else(String::new, |(metric, _)| substitute_grafana(metric));
    }
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, tail) = match after.strip_prefix('{') {
            Some(braced) => braced.split_once('}').unwrap_or((braced, "")),
            None => after.split_at(
                after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len()),
            ),
        };
        let name = name.split(':').next().unwrap_or_default();
        out.push_str(if INTERVALS.contains(&name) { "1m" } else { "x" });
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// `expr` (a dashboard's, Grafana's variables and all) parsed as PromQL; `Err` says why it
/// does not parse.
fn parse(expr: &str) -> Result<Option<Expr>, String> {
    match substitute_grafana(expr).as_str() {
        "" => Ok(None),
        promql => parser::parse(promql)
            .map(Some)
            .map_err(|why| format!("`{expr}` does not parse as PromQL: {why}")),
    }
}

/// Calls `visit` with every node of `expr`, depth first.
fn each_node(expr: &Expr, visit: impl FnMut(&Expr)) {
    struct Visitor<F>(F);
    impl<F: FnMut(&Expr)> ExprVisitor for Visitor<F> {
        type Error = Infallible;
        fn pre_visit(&mut self, expr: &Expr) -> Result<bool, Infallible> {
            (self.0)(expr);
            Ok(true)
        }
    }
    let Ok(_) = walk_expr(&mut Visitor(visit), expr);
}

/// The metric names the nodes of `expr` select (`foo{…}`, `foo[5m]`, bare `foo`).
fn selected(expr: &Expr) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    each_node(expr, |node| {
        let selector = match node {
            Expr::VectorSelector(selector) => selector,
            Expr::MatrixSelector(matrix) => &matrix.vs,
            _ => return,
        };
        names.extend(selector.name.clone());
    });
    names
}

/// The metric names a PromQL expression selects, after [`substitute_grafana`]; `Err` if it
/// does not parse.
pub fn promql_metric_names(expr: &str) -> Result<BTreeSet<String>, String> {
    Ok(parse(expr)?.as_ref().map(selected).unwrap_or_default())
}

/// Problems of the `histogram_quantile(q, …)` calls in a PromQL expression: what it reads
/// must be a histogram's `_bucket` series, and every aggregation inside must keep the `le`
/// label (`sum by (le, service_name) (…)`): without `le` there are no buckets left, and
/// the quantile is NaN or nothing. An expression that does not parse is a problem too.
pub fn histogram_quantile_problems(expr: &str) -> Vec<String> {
    let parsed = match parse(expr) {
        Ok(parsed) => parsed,
        Err(why) => return vec![why],
    };
    let mut problems = Vec::new();
    for call in parsed.iter().flat_map(quantile_arguments) {
        for name in selected(&call)
            .into_iter()
            .filter(|n| !n.ends_with("_bucket"))
        {
            problems.push(format!(
                "histogram_quantile reads `{name}`, not a histogram's `_bucket` series"
            ));
        }
        let mut dropping_le = Vec::new();
        each_node(&call, |node| match node {
            Expr::Aggregate(aggregate) if !keeps_le(aggregate) => {
                dropping_le.push(aggregate.op.to_string());
            }
            _ => {}
        });
        problems.extend(dropping_le.into_iter().map(|op| {
            format!("`{op}` inside histogram_quantile drops the `le` label: group by (le, …)")
        }));
    }
    problems
}

/// Whether an aggregation keeps the `le` label: `by (le, …)`, or `without (…)` leaving it.
fn keeps_le(aggregate: &AggregateExpr) -> bool {
    match &aggregate.modifier {
        Some(LabelModifier::Include(by)) => by.labels.iter().any(|l| l == "le"),
        Some(LabelModifier::Exclude(without)) => !without.labels.iter().any(|l| l == "le"),
        None => false,
    }
}

/// What each `histogram_quantile` call in `expr` reads: its second argument.
fn quantile_arguments(expr: &Expr) -> Vec<Expr> {
    let mut arguments = Vec::new();
    each_node(expr, |node| {
        if let Expr::Call(call) = node
            && call.func.name == "histogram_quantile"
        {
            arguments.extend(call.args.args.get(1).map(|arg| (**arg).clone()));
        }
    });
    arguments
}
