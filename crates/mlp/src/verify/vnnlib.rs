//! VNN-LIB properties: the subset of SMT-LIB the VNN-COMP competition writes its properties in.
//!
//! Supported: `(declare-const X_i Real)` / `(declare-const Y_i Real)` (inputs and outputs, indices
//! `0..n` in any order), `(assert F)` where `F` is built from `and`, `or` and the comparisons
//! `<=`, `>=`, `<`, `>` between linear terms (numbers, variables, `(+ t ...)`, `(- t t)`, `(- t)`,
//! `(* c t)` with a constant factor). Comments start with `;`.
//!
//! Meaning. The asserts together describe the *unsafe* set: an input in the declared box whose
//! output satisfies the assertions on `Y`. The property **holds** when that set is empty (the
//! SMT query is unsat) and is **violated** by any input that reaches it. Strict and non-strict
//! comparisons are treated alike (as `<=`): proving the closed set unreachable proves the open one
//! unreachable too, and a counterexample satisfies the non-strict form.
//!
//! The formula is put in disjunctive normal form: a list of [`Case`]s, each an input box (from the
//! comparisons of one input with a constant) and a conjunction of linear output constraints
//! `c . y + d <= 0`. Disjunctions over input boxes (ACAS Xu property 6) and over output
//! constraints (robustness properties: "some other class scores at least as high") both fit.
//! Outside the subset, with the line and column of the offending form: constraints mixing inputs
//! and outputs, several inputs in one constraint, non-linear terms, `=`, `not`, other sorts or
//! commands, inputs without both a lower and an upper bound.

use super::{Bounds, LinearSpec};
use crate::{Error, Result};
use std::path::Path;

/// Largest number of cases the disjunctive normal form may have (a guard against `(and (or ..)
/// (or ..) ...)` blowing up).
const MAX_CASES: usize = 100_000;

/// One disjunct of a property: inputs in `input` whose outputs satisfy every row of
/// `c y + d <= 0` (the rows of `unsafe_set`) are unsafe.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// The input box of this case.
    pub input: Bounds,
    /// The output constraints, all `<= 0` together (rows `c y + d`); no rows means every input of
    /// the box is unsafe.
    pub unsafe_set: LinearSpec,
}

/// A parsed VNN-LIB property: the unsafe set as a union of [`Case`]s.
#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    /// Number of declared inputs `X_i`.
    pub inputs: usize,
    /// Number of declared outputs `Y_i`.
    pub outputs: usize,
    /// The unsafe set's disjuncts (cases whose input box is empty are dropped).
    pub cases: Vec<Case>,
}

impl Property {
    /// Whether output `y` is in the unsafe set of case `case` (every row `<= 0`).
    pub fn is_unsafe_output(&self, case: usize, y: &[f64]) -> bool {
        self.cases[case]
            .unsafe_set
            .eval(y)
            .iter()
            .all(|v| *v <= 0.0)
    }

    /// The same property for a network that sees `(x - offset) / scale` instead of `x` and whose
    /// outputs `y` mean `y * out_scale + out_mean`: input boxes are mapped into network units and
    /// output constraints rewritten on the network's outputs. Used for models with stored
    /// preprocessing (the property is written in the data's units).
    pub fn to_network_units(
        &self,
        offset: &[f64],
        scale: &[f64],
        out_mean: &[f64],
        out_scale: &[f64],
    ) -> Result<Property> {
        let mut cases = Vec::with_capacity(self.cases.len());
        for case in &self.cases {
            let (mut lo, mut hi) = (Vec::new(), Vec::new());
            for j in 0..self.inputs {
                let a = (case.input.lower[j] - offset[j]) / scale[j];
                let b = (case.input.upper[j] - offset[j]) / scale[j];
                lo.push(a.min(b));
                hi.push(a.max(b));
            }
            let spec = &case.unsafe_set;
            let n = self.outputs;
            let mut c = spec.c.clone();
            let mut d = spec.d.clone();
            for (row, off) in c.chunks_exact_mut(n.max(1)).zip(d.iter_mut()) {
                for k in 0..n {
                    *off += row[k] * out_mean[k];
                    row[k] *= out_scale[k];
                }
            }
            cases.push(Case {
                input: Bounds::new(lo, hi)?,
                unsafe_set: LinearSpec { c, d, outputs: n },
            });
        }
        Ok(Property {
            inputs: self.inputs,
            outputs: self.outputs,
            cases,
        })
    }
}

/// Reads a `.vnnlib` file.
pub fn read_vnnlib(path: impl AsRef<Path>) -> Result<Property> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|reason| Error::Io {
        path: path.to_path_buf(),
        reason,
    })?;
    parse(&text).map_err(|e| Error::format(path, e.to_string()))
}

/// Parses VNN-LIB text (errors name `<vnnlib>` as the file).
pub fn parse_vnnlib(text: &str) -> Result<Property> {
    parse(text).map_err(|e| Error::format("<vnnlib>", e.to_string()))
}

/// A parse error at a position.
#[derive(Debug)]
struct ParseError {
    line: usize,
    col: usize,
    msg: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, column {}: {}", self.line, self.col, self.msg)
    }
}

type PResult<T> = std::result::Result<T, ParseError>;

fn err<T>(pos: (usize, usize), msg: impl Into<String>) -> PResult<T> {
    Err(ParseError {
        line: pos.0,
        col: pos.1,
        msg: msg.into(),
    })
}

/// An S-expression with the position of its first character.
#[derive(Debug)]
enum Sexp {
    Atom(String, (usize, usize)),
    List(Vec<Sexp>, (usize, usize)),
}

impl Sexp {
    fn pos(&self) -> (usize, usize) {
        match self {
            Sexp::Atom(_, p) | Sexp::List(_, p) => *p,
        }
    }
}

fn read_sexps(text: &str) -> PResult<Vec<Sexp>> {
    // A stack of open lists, each with its opening position.
    let mut stack: Vec<(Vec<Sexp>, (usize, usize))> = vec![(Vec::new(), (1, 1))];
    let mut chars = text.chars().peekable();
    let (mut line, mut col) = (1usize, 1usize);
    while let Some(&ch) = chars.peek() {
        let pos = (line, col);
        if ch == ';' {
            while let Some(&c) = chars.peek() {
                if c == '\n' {
                    break;
                }
                chars.next();
                col += 1;
            }
            continue;
        }
        chars.next();
        if ch == '\n' {
            line += 1;
            col = 1;
            continue;
        }
        col += 1;
        match ch {
            c if c.is_whitespace() => {}
            '(' => stack.push((Vec::new(), pos)),
            ')' => {
                if stack.len() == 1 {
                    return err(pos, "')' without a matching '('");
                }
                if let Some((items, open)) = stack.pop()
                    && let Some(top) = stack.last_mut()
                {
                    top.0.push(Sexp::List(items, open));
                }
            }
            _ => {
                let mut atom = String::from(ch);
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '(' || c == ')' || c == ';' {
                        break;
                    }
                    atom.push(c);
                    chars.next();
                    col += 1;
                }
                if let Some(top) = stack.last_mut() {
                    top.0.push(Sexp::Atom(atom, pos));
                }
            }
        }
    }
    if stack.len() > 1 {
        let open = stack.last().map_or((1, 1), |s| s.1);
        return err(open, "'(' is never closed");
    }
    Ok(stack.pop().map(|s| s.0).unwrap_or_default())
}

/// Which variable: input `X_i` or output `Y_i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Var {
    X(usize),
    Y(usize),
}

fn var_name(name: &str) -> Option<Var> {
    let (kind, idx) = name.split_once('_')?;
    let i: usize = idx.parse().ok()?;
    if idx.starts_with('+') {
        return None;
    }
    match kind {
        "X" => Some(Var::X(i)),
        "Y" => Some(Var::Y(i)),
        _ => None,
    }
}

/// A linear term: `sum coef * var + constant`.
#[derive(Debug, Clone, Default)]
struct Linear {
    terms: Vec<(Var, f64)>,
    constant: f64,
}

impl Linear {
    fn scaled(mut self, k: f64) -> Linear {
        self.terms.iter_mut().for_each(|t| t.1 *= k);
        self.constant *= k;
        self
    }

    fn add(mut self, other: Linear) -> Linear {
        for (v, c) in other.terms {
            match self.terms.iter_mut().find(|t| t.0 == v) {
                Some(t) => t.1 += c,
                None => self.terms.push((v, c)),
            }
        }
        self.constant += other.constant;
        self
    }

    fn is_constant(&self) -> bool {
        self.terms.iter().all(|t| t.1 == 0.0)
    }
}

/// A comparison, normalized to `lin <= 0`.
#[derive(Debug, Clone)]
struct Atom {
    lin: Linear,
    pos: (usize, usize),
}

/// A boolean formula.
#[derive(Debug)]
enum Formula {
    Atom(Atom),
    And(Vec<Formula>),
    Or(Vec<Formula>),
}

struct Parser {
    inputs: Vec<bool>,
    outputs: Vec<bool>,
}

impl Parser {
    fn declare(&mut self, items: &[Sexp], pos: (usize, usize)) -> PResult<()> {
        let (name, sort) = match items {
            [_, Sexp::Atom(n, _), Sexp::Atom(s, sp)] => (n, (s, sp)),
            _ => return err(pos, "expected (declare-const NAME Real)"),
        };
        if sort.0 != "Real" {
            return err(
                *sort.1,
                format!(
                    "sort '{}' is outside the supported subset (only Real)",
                    sort.0
                ),
            );
        }
        let Some(var) = var_name(name) else {
            return err(
                items[1].pos(),
                format!("variable '{name}': only inputs X_i and outputs Y_i are supported"),
            );
        };
        let (list, i) = match var {
            Var::X(i) => (&mut self.inputs, i),
            Var::Y(i) => (&mut self.outputs, i),
        };
        if i > 1_000_000 {
            return err(items[1].pos(), format!("variable index {i} is too large"));
        }
        if list.len() <= i {
            list.resize(i + 1, false);
        }
        if list[i] {
            return err(items[1].pos(), format!("'{name}' is declared twice"));
        }
        list[i] = true;
        Ok(())
    }

    fn term(&self, s: &Sexp) -> PResult<Linear> {
        match s {
            Sexp::Atom(a, pos) => {
                if let Some(var) = var_name(a) {
                    let declared = match var {
                        Var::X(i) => self.inputs.get(i).copied().unwrap_or(false),
                        Var::Y(i) => self.outputs.get(i).copied().unwrap_or(false),
                    };
                    if !declared {
                        return err(*pos, format!("'{a}' is used before it is declared"));
                    }
                    return Ok(Linear {
                        terms: vec![(var, 1.0)],
                        constant: 0.0,
                    });
                }
                match a.parse::<f64>() {
                    Ok(v) if v.is_finite() => Ok(Linear {
                        terms: Vec::new(),
                        constant: v,
                    }),
                    _ => err(
                        *pos,
                        format!("'{a}' is neither a declared variable nor a number"),
                    ),
                }
            }
            Sexp::List(items, pos) => {
                let Some(Sexp::Atom(op, _)) = items.first() else {
                    return err(*pos, "expected an operator: +, -, *");
                };
                let args = items[1..]
                    .iter()
                    .map(|a| self.term(a))
                    .collect::<PResult<Vec<_>>>()?;
                match (op.as_str(), args.len()) {
                    ("+", n) if n >= 1 => Ok(args.into_iter().fold(Linear::default(), Linear::add)),
                    ("-", 1) => Ok(args
                        .into_iter()
                        .fold(Linear::default(), Linear::add)
                        .scaled(-1.0)),
                    ("-", n) if n >= 2 => {
                        let mut it = args.into_iter();
                        let first = it.next().unwrap_or_default();
                        Ok(it.fold(first, |acc, t| acc.add(t.scaled(-1.0))))
                    }
                    ("*", n) if n >= 1 => {
                        let mut acc = Linear {
                            terms: Vec::new(),
                            constant: 1.0,
                        };
                        for t in args {
                            acc = if acc.is_constant() {
                                t.scaled(acc.constant)
                            } else if t.is_constant() {
                                acc.scaled(t.constant)
                            } else {
                                return err(
                                    *pos,
                                    "a product of two variables is not linear (outside the supported subset)",
                                );
                            };
                        }
                        Ok(acc)
                    }
                    (other, _) => err(
                        *pos,
                        format!(
                            "term '({other} ...)' is outside the supported subset (+, -, * with a constant factor)"
                        ),
                    ),
                }
            }
        }
    }

    fn formula(&self, s: &Sexp) -> PResult<Formula> {
        let Sexp::List(items, pos) = s else {
            return err(
                s.pos(),
                "expected a formula: (and ...), (or ...), (<= a b), (>= a b)",
            );
        };
        let Some(Sexp::Atom(op, _)) = items.first() else {
            return err(
                *pos,
                "expected a formula: (and ...), (or ...), (<= a b), (>= a b)",
            );
        };
        let args = &items[1..];
        match op.as_str() {
            "and" | "or" => {
                let fs = args
                    .iter()
                    .map(|a| self.formula(a))
                    .collect::<PResult<Vec<_>>>()?;
                Ok(if op == "and" {
                    Formula::And(fs)
                } else {
                    Formula::Or(fs)
                })
            }
            "<=" | "<" | ">=" | ">" => {
                if args.len() != 2 {
                    return err(*pos, format!("'{op}' takes two terms, got {}", args.len()));
                }
                let (a, b) = (self.term(&args[0])?, self.term(&args[1])?);
                // a <= b  <=>  a - b <= 0;  a >= b  <=>  b - a <= 0.
                let lin = if op.starts_with('<') {
                    a.add(b.scaled(-1.0))
                } else {
                    b.add(a.scaled(-1.0))
                };
                Ok(Formula::Atom(Atom { lin, pos: *pos }))
            }
            other => err(
                *pos,
                format!("'{other}' is outside the supported subset (and, or, <=, <, >=, >)"),
            ),
        }
    }
}

/// Disjunctive normal form: a list of conjunctions of atoms.
fn dnf(f: &Formula, pos: (usize, usize)) -> PResult<Vec<Vec<Atom>>> {
    match f {
        Formula::Atom(a) => Ok(vec![vec![a.clone()]]),
        Formula::Or(fs) => {
            let mut out = Vec::new();
            for g in fs {
                out.extend(dnf(g, pos)?);
                if out.len() > MAX_CASES {
                    return err(
                        pos,
                        format!("more than {MAX_CASES} cases in disjunctive normal form"),
                    );
                }
            }
            Ok(out)
        }
        Formula::And(fs) => {
            let mut acc: Vec<Vec<Atom>> = vec![Vec::new()];
            for g in fs {
                let parts = dnf(g, pos)?;
                if acc.len().saturating_mul(parts.len()) > MAX_CASES {
                    return err(
                        pos,
                        format!("more than {MAX_CASES} cases in disjunctive normal form"),
                    );
                }
                let mut next = Vec::with_capacity(acc.len() * parts.len());
                for a in &acc {
                    for p in &parts {
                        let mut c = a.clone();
                        c.extend(p.iter().cloned());
                        next.push(c);
                    }
                }
                acc = next;
            }
            Ok(acc)
        }
    }
}

fn parse(text: &str) -> PResult<Property> {
    let forms = read_sexps(text)?;
    let mut parser = Parser {
        inputs: Vec::new(),
        outputs: Vec::new(),
    };
    let mut asserts = Vec::new();
    for form in &forms {
        let Sexp::List(items, pos) = form else {
            return err(
                form.pos(),
                "expected a command: (declare-const ...) or (assert ...)",
            );
        };
        match items.first() {
            Some(Sexp::Atom(cmd, _)) if cmd == "declare-const" => parser.declare(items, *pos)?,
            Some(Sexp::Atom(cmd, _)) if cmd == "assert" => {
                if items.len() != 2 {
                    return err(*pos, "expected (assert FORMULA)");
                }
                asserts.push((parser.formula(&items[1])?, *pos));
            }
            Some(Sexp::Atom(cmd, p)) => {
                return err(
                    *p,
                    format!(
                        "command '{cmd}' is outside the supported subset (declare-const, assert)"
                    ),
                );
            }
            _ => {
                return err(
                    *pos,
                    "expected a command: (declare-const ...) or (assert ...)",
                );
            }
        }
    }
    for (what, list) in [("X", &parser.inputs), ("Y", &parser.outputs)] {
        if list.is_empty() {
            return err((1, 1), format!("no {what}_i variables are declared"));
        }
        if let Some(i) = list.iter().position(|d| !d) {
            return err(
                (1, 1),
                format!(
                    "{what}_{i} is not declared (declare {what}_0 .. {what}_{})",
                    list.len() - 1
                ),
            );
        }
    }
    let (nx, ny) = (parser.inputs.len(), parser.outputs.len());
    let start = (1, 1);
    let whole = Formula::And(asserts.into_iter().map(|(f, _)| f).collect());
    let conjunctions = dnf(&whole, start)?;
    let mut cases = Vec::new();
    'case: for conj in conjunctions {
        let mut lo = vec![f64::NEG_INFINITY; nx];
        let mut hi = vec![f64::INFINITY; nx];
        let mut c = Vec::new();
        let mut d = Vec::new();
        for atom in conj {
            let terms: Vec<(Var, f64)> = atom
                .lin
                .terms
                .iter()
                .copied()
                .filter(|t| t.1 != 0.0)
                .collect();
            let xs = terms.iter().filter(|t| matches!(t.0, Var::X(_))).count();
            let ys = terms.len() - xs;
            match (xs, ys) {
                (0, 0) => {
                    if atom.lin.constant > 0.0 {
                        // A false constant comparison: this case is empty.
                        continue 'case;
                    }
                }
                (1, 0) => {
                    let (Var::X(i), a) = terms[0] else {
                        continue;
                    };
                    // a x + k <= 0.
                    let v = -atom.lin.constant / a;
                    if a > 0.0 {
                        hi[i] = hi[i].min(v);
                    } else {
                        lo[i] = lo[i].max(v);
                    }
                }
                (0, _) => {
                    let mut row = vec![0.0; ny];
                    for (v, a) in &terms {
                        if let Var::Y(k) = v {
                            row[*k] += a;
                        }
                    }
                    c.extend(row);
                    d.push(atom.lin.constant);
                }
                (_, 0) => {
                    return err(
                        atom.pos,
                        "a constraint over several inputs is outside the supported subset (bound each X_i by a constant)",
                    );
                }
                _ => {
                    return err(
                        atom.pos,
                        "a constraint mixing inputs and outputs is outside the supported subset",
                    );
                }
            }
        }
        for i in 0..nx {
            if !lo[i].is_finite() || !hi[i].is_finite() {
                return err(
                    start,
                    format!(
                        "X_{i} has no {} bound (every input needs a constant lower and upper bound)",
                        if lo[i].is_finite() { "upper" } else { "lower" }
                    ),
                );
            }
        }
        if (0..nx).any(|i| lo[i] > hi[i]) {
            continue;
        }
        cases.push(Case {
            input: Bounds {
                lower: lo,
                upper: hi,
            },
            unsafe_set: LinearSpec { c, d, outputs: ny },
        });
    }
    Ok(Property {
        inputs: nx,
        outputs: ny,
        cases,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACAS_PROP_3: &str = "
; ACAS Xu property 3
(declare-const X_0 Real)
(declare-const X_1 Real)
(declare-const X_2 Real)
(declare-const X_3 Real)
(declare-const X_4 Real)
(declare-const Y_0 Real)
(declare-const Y_1 Real)
(declare-const Y_2 Real)
(declare-const Y_3 Real)
(declare-const Y_4 Real)
; Input constraints:
(assert (<= X_0 -0.298552812))
(assert (>= X_0 -0.303531156))
(assert (<= X_1 0.009549297))
(assert (>= X_1 -0.009549297))
(assert (<= X_2 0.5))
(assert (>= X_2 0.493380324))
(assert (<= X_3 0.5))
(assert (>= X_3 0.3))
(assert (<= X_4 0.5))
(assert (>= X_4 0.3))
; unsafe if COC is minimal
(assert (<= Y_0 Y_1))
(assert (<= Y_0 Y_2))
(assert (<= Y_0 Y_3))
(assert (<= Y_0 Y_4))
";

    #[test]
    fn acas_style_conjunction() {
        let p = parse_vnnlib(ACAS_PROP_3).expect("parses");
        assert_eq!((p.inputs, p.outputs, p.cases.len()), (5, 5, 1));
        let c = &p.cases[0];
        assert_eq!(c.input.lower[0], -0.303531156);
        assert_eq!(c.input.upper[4], 0.5);
        assert_eq!(c.unsafe_set.rows(), 4);
        assert_eq!(&c.unsafe_set.c[..5], &[1.0, -1.0, 0.0, 0.0, 0.0]);
        assert!(p.is_unsafe_output(0, &[0.0, 1.0, 1.0, 1.0, 1.0]));
        assert!(!p.is_unsafe_output(0, &[2.0, 1.0, 1.0, 1.0, 1.0]));
    }

    #[test]
    fn disjunctions_of_outputs_and_of_input_boxes() {
        // Robustness style: unsafe if some other class scores at least the label's.
        let text = "(declare-const X_0 Real)(declare-const Y_0 Real)(declare-const Y_1 Real)
(declare-const Y_2 Real)
(assert (>= X_0 0.0)) (assert (<= X_0 1.0))
(assert (or (and (>= Y_1 Y_0)) (and (>= Y_2 Y_0))))";
        let p = parse_vnnlib(text).expect("parses");
        assert_eq!(p.cases.len(), 2);
        assert_eq!(p.cases[1].unsafe_set.c, vec![1.0, 0.0, -1.0]);
        // ACAS Xu property 6 style: two input boxes.
        let text = "(declare-const X_0 Real)(declare-const X_1 Real)(declare-const Y_0 Real)
(assert (or (and (>= X_0 -1) (<= X_0 0) (>= X_1 0) (<= X_1 1))
            (and (>= X_0 2) (<= X_0 3) (>= X_1 0) (<= X_1 1))))
(assert (<= (+ Y_0 (* -1.0 3)) 0))";
        let p = parse_vnnlib(text).expect("parses");
        assert_eq!(p.cases.len(), 2);
        assert_eq!(p.cases[1].input.lower, vec![2.0, 0.0]);
        assert_eq!(p.cases[0].unsafe_set.d, vec![-3.0]);
        assert_eq!(p.cases[0].unsafe_set.c, vec![1.0]);
    }

    /// ACAS Xu property 6 as VNN-COMP 2021 wrote it: two input boxes, four output disjuncts.
    #[test]
    fn acas_property_6_layout() {
        let text = "; ACAS Xu property 6
(declare-const X_0 Real)\n(declare-const X_1 Real)\n(declare-const X_2 Real)
(declare-const X_3 Real)\n(declare-const X_4 Real)
(declare-const Y_0 Real)\n(declare-const Y_1 Real)\n(declare-const Y_2 Real)
(declare-const Y_3 Real)\n(declare-const Y_4 Real)
;;;; or ;;;;
(assert (or
    (and (<= X_0 0.700434925) (>= X_0 -0.129289109) (<= X_1 0.499999896) (>= X_1 0.11140846) (<= X_2 -0.499204121) (>= X_2 -0.499999896) (<= X_3 0.5) (>= X_3 -0.5) (<= X_4 0.5) (>= X_4 -0.5))
    (and (<= X_0 0.700434925) (>= X_0 -0.129289109) (<= X_1 -0.11140846) (>= X_1 -0.499999896) (<= X_2 -0.499204121) (>= X_2 -0.499999896) (<= X_3 0.5) (>= X_3 -0.5) (<= X_4 0.5) (>= X_4 -0.5))
))
; unsafe if coc is not minimal
(assert (or
     (<= Y_1 Y_0)
     (<= Y_2 Y_0)
     (<= Y_3 Y_0)
     (<= Y_4 Y_0)
))
";
        let p = parse_vnnlib(text).expect("parses");
        assert_eq!(p.cases.len(), 8);
        assert_eq!(p.cases[0].input.upper[1], 0.499999896);
        assert_eq!(p.cases[7].input.lower[1], -0.499999896);
        // Case 3 (first box, fourth disjunct): y4 - y0 <= 0.
        assert_eq!(p.cases[3].unsafe_set.c, vec![-1.0, 0.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    fn linear_terms() {
        let text = "(declare-const X_0 Real)(declare-const Y_0 Real)(declare-const Y_1 Real)
(assert (<= 0 X_0)) (assert (<= X_0 (* 2 0.5)))
(assert (<= (+ Y_0 (* -1.0 Y_1)) 0))
(assert (>= (- Y_0 (* 3 Y_1) 1) (- 2)))";
        let p = parse_vnnlib(text).expect("parses");
        let s = &p.cases[0].unsafe_set;
        assert_eq!(p.cases[0].input.upper, vec![1.0]);
        assert_eq!(&s.c[..2], &[1.0, -1.0]);
        assert_eq!(s.d[0], 0.0);
        // y0 - 3 y1 - 1 >= -2  <=>  -y0 + 3 y1 - 1 <= 0.
        assert_eq!(&s.c[2..], &[-1.0, 3.0]);
        assert_eq!(s.d[1], -1.0);
    }

    #[test]
    fn errors_name_line_and_column() {
        let cases = [
            ("(declare-const X_0 Int)", "line 1, column 20", "sort 'Int'"),
            (
                "(declare-const X_0 Real)(declare-const Y_0 Real)\n(assert (<= X_0 Y_0))",
                "line 2, column 9",
                "mixing inputs and outputs",
            ),
            (
                "(declare-const X_0 Real)(declare-const Y_0 Real)\n(assert (<= (* Y_0 Y_0) 1))",
                "line 2, column 13",
                "not linear",
            ),
            (
                "(declare-const X_0 Real)(declare-const Y_0 Real)\n(assert (= Y_0 1))",
                "line 2, column 9",
                "'='",
            ),
            (
                "(declare-const X_0 Real)(declare-const Y_0 Real)\n(assert (<= Y_1 1))",
                "line 2, column 13",
                "before it is declared",
            ),
            (
                "(declare-const X_0 Real)\n(assert (<= X_0 1)",
                "line 2, column 1",
                "never closed",
            ),
            (
                "(declare-const X_0 Real)(declare-const Y_0 Real)(assert (<= X_0 1))(assert (<= Y_0 1))",
                "",
                "X_0 has no lower bound",
            ),
            (
                "(declare-const X_0 Real)(check-sat)",
                "line 1, column 26",
                "check-sat",
            ),
        ];
        for (text, at, what) in cases {
            let e = parse_vnnlib(text).expect_err(text).to_string();
            assert!(e.contains(at) && e.contains(what), "{text}: {e}");
        }
    }

    #[test]
    fn empty_input_cases_are_dropped() {
        let text = "(declare-const X_0 Real)(declare-const Y_0 Real)
(assert (or (and (>= X_0 1) (<= X_0 0)) (and (>= X_0 0) (<= X_0 1))))(assert (<= Y_0 0))";
        let p = parse_vnnlib(text).expect("parses");
        assert_eq!(p.cases.len(), 1);
    }

    #[test]
    fn units_mapping() {
        let text = "(declare-const X_0 Real)(declare-const Y_0 Real)
(assert (>= X_0 2))(assert (<= X_0 4))(assert (<= Y_0 10))";
        let p = parse_vnnlib(text).expect("parses");
        let q = p
            .to_network_units(&[3.0], &[2.0], &[5.0], &[10.0])
            .expect("maps");
        assert_eq!(q.cases[0].input.lower, vec![-0.5]);
        assert_eq!(q.cases[0].input.upper, vec![0.5]);
        // (10 y + 5) - 10 <= 0.
        assert_eq!(q.cases[0].unsafe_set.c, vec![10.0]);
        assert_eq!(q.cases[0].unsafe_set.d, vec![-5.0]);
    }
}
