//! Rendering a template within bounds on memory, output and time.
//!
//! minijinja's fuel counts steps, not bytes: `('x' * 1000000)|replace('x', 'x' * 1000)`
//! is three steps and a gigabyte (issue 21, finding 9). So rel04d compiles
//! templates itself (minijinja's machinery) and changes what may grow:
//!
//! - `+`, `*` and `~` call bounded versions ([`ADD`], [`MUL`], [`CONCAT`]) that
//!   refuse a value over [`MAX_VALUE_BYTES`] before building it, and count what
//!   they build against [`MAX_BUILT_BYTES`] per render;
//! - constants (which the compiler folds before any of that runs) are sized
//!   from the syntax tree first, and refused over [`MAX_VALUE_BYTES`];
//! - every byte written, literal text included, passes one formatter that stops
//!   at [`MAX_WRITTEN_BYTES`]; blocks that capture output (`{% set x %}…`,
//!   `{% filter %}`) and recursive loops are refused, so nothing is written
//!   anywhere else (macros, includes and blocks are not compiled in at all);
//! - only filters whose result is no larger than a few times their input are
//!   available, plus bounded `replace` and `join`; text filters (`upper`,
//!   `string`, …) display a non-string within the value bound first; `namespace()` and `debug()`
//!   are not, so nothing accumulates across loop iterations uncounted;
//! - every bounded call checks a cancel flag, which the caller raises when the
//!   render's wall-clock budget is spent.
//!
//! Fuel still bounds the steps, so a render ends even if nothing is built.

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use minijinja::machinery::ast::{BinOpKind, CallArg, Expr, Stmt, UnaryOpKind};
use minijinja::machinery::{self, CodeGenerator, Instruction, Instructions, Vm, WhitespaceConfig};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::ValueKind;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, Expression, Value};

use super::{INPUT_NAME, describe};

/// Steps one render may take.
pub const MAX_FUEL: u64 = 100_000;
/// The largest string (or its display) a template may build, and the most
/// items a list it builds may hold is [`MAX_ITEMS`].
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
/// Bytes all the values one render builds may add up to.
pub const MAX_BUILT_BYTES: usize = 1024 * 1024;
/// Bytes one render may write before trimming (the value itself is shorter).
pub const MAX_WRITTEN_BYTES: usize = 64 * 1024;
/// Items a list built by `+` or `*` may hold (as many as `range` gives).
pub const MAX_ITEMS: usize = 100_000;

/// The bounded operators, named so no template can name them (templates
/// mentioning `__rel04d` are refused).
const ADD: &str = "__rel04d_add";
const MUL: &str = "__rel04d_mul";
const CONCAT: &str = "__rel04d_concat";
const RESERVED: &str = "__rel04d";
/// `PushLoop`'s flag for a recursive loop (minijinja's own constant is not
/// exported).
const LOOP_FLAG_RECURSIVE: u8 = 2;
const NAME: &str = "template";

/// Compiles `source` (already `$`-rewritten) into bounded instructions.
pub fn compile(source: &str) -> Result<Instructions<'_>, String> {
    let ast = machinery::parse(source, NAME, SyntaxConfig, WhitespaceConfig::default())
        .map_err(|e| describe(&e))?;
    check_stmt(&ast)?;
    let mut generator = CodeGenerator::new(NAME, source);
    generator.compile_stmt(&ast);
    let (instructions, _blocks) = generator.finish();
    rebuild(&instructions)
}

/// Refuses a template naming rel04d's internal functions (`$` is rewritten to
/// one of these names after this check).
pub fn check_reserved(template: &str) -> Result<(), String> {
    match template.contains(RESERVED) {
        true => Err(format!("names starting with {RESERVED} are reserved")),
        false => Ok(()),
    }
}

/// Renders compiled `instructions` with `input` as `$`; stops when `cancel`
/// is raised.
pub fn run(
    instructions: &Instructions<'_>,
    input: &serde_json::Value,
    cancel: &Arc<AtomicBool>,
) -> Result<String, String> {
    let budget = Arc::new(Budget {
        built: AtomicUsize::new(0),
        written: AtomicUsize::new(0),
        cancel: cancel.clone(),
    });
    let env = environment(&budget);
    let root = Value::from_iter([(INPUT_NAME, Value::from_serialize(input))]);
    let mut output = String::new();
    let blocks = Default::default();
    Vm::new(&env)
        .eval(
            instructions,
            root,
            &blocks,
            &mut machinery::make_string_output(&mut output),
            AutoEscape::None,
        )
        .map_err(|e| describe(&e))?;
    Ok(output)
}

/// What one render has built and written so far.
struct Budget {
    built: AtomicUsize,
    written: AtomicUsize,
    cancel: Arc<AtomicBool>,
}

fn refuse(message: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, message)
}

impl Budget {
    fn check_cancel(&self) -> Result<(), Error> {
        match self.cancel.load(Ordering::Relaxed) {
            true => Err(refuse("the render's time budget is spent".to_owned())),
            false => Ok(()),
        }
    }

    /// Accounts for a value of `bytes` about to be built.
    fn build(&self, bytes: usize) -> Result<(), Error> {
        self.check_cancel()?;
        if bytes > MAX_VALUE_BYTES {
            return Err(too_large(bytes));
        }
        let built = self.built.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if built > MAX_BUILT_BYTES {
            return Err(refuse(format!(
                "the template built more than {} KiB of values, the most one render may build",
                MAX_BUILT_BYTES / 1024
            )));
        }
        Ok(())
    }

    /// Writes `value` to `out` if it fits in what is left to write.
    fn write(&self, out: &mut minijinja::Output, value: &Value) -> Result<(), Error> {
        self.check_cancel()?;
        let written = self.written.load(Ordering::Relaxed);
        let text = display(value, MAX_WRITTEN_BYTES - written).map_err(|_| {
            refuse(format!(
                "the template wrote more than {} KiB, the most one render may write",
                MAX_WRITTEN_BYTES / 1024
            ))
        })?;
        self.written.fetch_add(text.len(), Ordering::Relaxed);
        out.write_str(&text)
            .map_err(|_| refuse("the output could not be written".to_owned()))
    }

    /// `value` as text: a string as it is, anything else displayed within
    /// [`MAX_VALUE_BYTES`] and counted as built.
    fn text_of<'v>(&self, value: &'v Value) -> Result<Cow<'v, str>, Error> {
        self.check_cancel()?;
        if let Some(text) = value.as_str() {
            return Ok(Cow::Borrowed(text));
        }
        let text = display(value, MAX_VALUE_BYTES).map_err(|_| too_large(MAX_VALUE_BYTES + 1))?;
        self.build(text.len())?;
        Ok(Cow::Owned(text))
    }

    fn concat(&self, a: &Value, b: &Value) -> Result<Value, Error> {
        self.check_cancel()?;
        let text = display(&ConcatPair(a, b), MAX_VALUE_BYTES)
            .map_err(|_| too_large(MAX_VALUE_BYTES + 1))?;
        self.build(text.len())?;
        Ok(Value::from(text))
    }

    fn mul(&self, a: &Value, b: &Value) -> Result<Value, Error> {
        let (grown, times) = match (a.kind(), b.kind()) {
            (ValueKind::String | ValueKind::Seq | ValueKind::Iterable, _) => (a, b),
            (_, ValueKind::String | ValueKind::Seq | ValueKind::Iterable) => (b, a),
            _ => return arithmetic(MUL, a, b),
        };
        // minijinja repeats by `as_usize` too; without one it refuses.
        let Some(times) = times.as_usize() else {
            return arithmetic(MUL, a, b);
        };
        let len = grown.len().unwrap_or(0);
        if grown.kind() != ValueKind::String && len.saturating_mul(times) > MAX_ITEMS {
            return Err(too_many(len.saturating_mul(times)));
        }
        let bytes = match grown.as_str() {
            Some(text) => text.len().saturating_mul(times),
            None => len.saturating_mul(times).saturating_mul(16),
        };
        self.build(bytes)?;
        arithmetic(MUL, a, b)
    }

    fn add(&self, a: &Value, b: &Value) -> Result<Value, Error> {
        let sequences = [a, b]
            .iter()
            .all(|v| matches!(v.kind(), ValueKind::Seq | ValueKind::Iterable));
        if sequences {
            let items = a.len().unwrap_or(0).saturating_add(b.len().unwrap_or(0));
            if items > MAX_ITEMS {
                return Err(too_many(items));
            }
            self.build(items.saturating_mul(16))?;
        } else if let (Some(x), Some(y)) = (a.as_str(), b.as_str()) {
            self.build(x.len() + y.len())?;
        } else {
            self.check_cancel()?;
        }
        arithmetic(ADD, a, b)
    }

    fn replace(&self, value: &str, from: &str, to: &str) -> Result<Value, Error> {
        let hits = match from.is_empty() {
            true => value.chars().count() + 1,
            false => value.matches(from).count(),
        };
        let bytes = (value.len() - hits.min(value.len()) * from.len().min(value.len()))
            .saturating_add(hits.saturating_mul(to.len()));
        self.build(bytes)?;
        Ok(Value::from(value.replace(from, to)))
    }

    fn join(&self, value: &Value, joiner: Option<&str>) -> Result<Value, Error> {
        let mut out = Bounded::new(MAX_VALUE_BYTES);
        if value.is_undefined() || value.is_none() {
            return Ok(Value::from(""));
        }
        for (index, item) in value.try_iter()?.enumerate() {
            self.check_cancel()?;
            let joined = match index {
                0 => write!(out, "{item}"),
                _ => write!(out, "{}{item}", joiner.unwrap_or("")),
            };
            joined.map_err(|_| too_large(MAX_VALUE_BYTES + 1))?;
        }
        self.build(out.text.len())?;
        Ok(Value::from(out.text))
    }
}

fn too_large(bytes: usize) -> Error {
    refuse(format!(
        "a value would be {bytes} bytes; a template builds values of at most {} KiB",
        MAX_VALUE_BYTES / 1024
    ))
}

fn too_many(items: usize) -> Error {
    refuse(format!(
        "a list would hold {items} items; a template builds lists of at most {MAX_ITEMS}"
    ))
}

/// `a ~ b` as minijinja displays it.
struct ConcatPair<'a>(&'a Value, &'a Value);

impl fmt::Display for ConcatPair<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.0, self.1)
    }
}

/// `value` displayed, or an error past `max` bytes (without building more).
fn display(value: &dyn fmt::Display, max: usize) -> Result<String, fmt::Error> {
    let mut out = Bounded::new(max);
    write!(out, "{value}")?;
    Ok(out.text)
}

/// A string that refuses to grow past `max` bytes.
struct Bounded {
    text: String,
    max: usize,
}

impl Bounded {
    fn new(max: usize) -> Bounded {
        Bounded {
            text: String::new(),
            max,
        }
    }
}

impl fmt::Write for Bounded {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.text.len() + s.len() > self.max {
            return Err(fmt::Error);
        }
        self.text.push_str(s);
        Ok(())
    }
}

/// `a op b` by minijinja itself, once the bounded version has checked sizes.
fn arithmetic(op: &str, a: &Value, b: &Value) -> Result<Value, Error> {
    struct Ops {
        add: Expression<'static, 'static>,
        mul: Expression<'static, 'static>,
    }
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    static OPS: OnceLock<Ops> = OnceLock::new();
    let ops = OPS.get_or_init(|| {
        let env = ENV.get_or_init(Environment::empty);
        let compile = |text| env.compile_expression(text).expect("a valid expression");
        Ops {
            add: compile("a + b"),
            mul: compile("a * b"),
        }
    });
    let expression = match op {
        ADD => &ops.add,
        _ => &ops.mul,
    };
    expression.eval(Value::from_iter([("a", a.clone()), ("b", b.clone())]))
}

/// An environment with only bounded or non-growing filters, tests and functions.
fn environment<'s>(budget: &Arc<Budget>) -> Environment<'s> {
    use minijinja::{filters as f, functions, tests as t};
    let mut env = Environment::empty();
    // Nunjucks looks up `a.b.c` on a missing `a` quietly; so does Guardrails.
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    env.set_fuel(Some(MAX_FUEL));
    // Text filters display any value first: bounded, as `~` is.
    let text_filter = |env: &mut Environment<'s>, name: &'static str, f: fn(&str) -> String| {
        let b = budget.clone();
        env.add_filter(name, move |v: &Value| -> Result<Value, Error> {
            let text = b.text_of(v)?;
            Ok(Value::from(f(&text)))
        });
    };
    text_filter(&mut env, "lower", str::to_lowercase);
    text_filter(&mut env, "upper", str::to_uppercase);
    text_filter(&mut env, "title", |t| f::title(Cow::Borrowed(t)));
    text_filter(&mut env, "capitalize", |t| {
        let mut chars = t.chars();
        chars.next().map_or_else(String::new, |first| {
            first
                .to_uppercase()
                .chain(chars.flat_map(char::to_lowercase))
                .collect()
        })
    });
    text_filter(&mut env, "trim", |t| t.trim().to_owned());
    text_filter(&mut env, "string", str::to_owned);
    env.add_filter("length", f::length);
    env.add_filter("count", f::length);
    env.add_filter("default", f::default);
    env.add_filter("d", f::default);
    env.add_filter("round", f::round);
    env.add_filter("abs", f::abs);
    env.add_filter("int", f::int);
    env.add_filter("float", f::float);
    env.add_filter("bool", f::bool);
    env.add_filter("attr", f::attr);
    env.add_filter("first", f::first);
    env.add_filter("last", f::last);
    env.add_filter("min", f::min);
    env.add_filter("max", f::max);
    env.add_filter("sort", f::sort);
    env.add_filter("reverse", f::reverse);
    env.add_filter("unique", f::unique);
    env.add_filter("list", f::list);
    env.add_filter("sum", f::sum);
    env.add_filter("select", f::select);
    env.add_filter("reject", f::reject);
    env.add_filter("selectattr", f::selectattr);
    env.add_filter("rejectattr", f::rejectattr);
    env.add_filter("map", f::map);
    env.add_filter("split", f::split);
    env.add_filter("lines", f::lines);
    env.add_filter("items", f::items);
    env.add_filter("dictsort", f::dictsort);
    let b = budget.clone();
    env.add_filter(
        "replace",
        move |v: Cow<'_, str>, from: Cow<'_, str>, to: Cow<'_, str>| b.replace(&v, &from, &to),
    );
    let b = budget.clone();
    env.add_filter("join", move |v: &Value, joiner: Option<Cow<'_, str>>| {
        b.join(v, joiner.as_deref())
    });
    for (name, test) in [
        ("undefined", t::is_undefined as fn(&Value) -> bool),
        ("defined", t::is_defined),
        ("none", t::is_none),
        ("string", t::is_string),
        ("number", t::is_number),
        ("integer", t::is_integer),
        ("float", t::is_float),
        ("boolean", t::is_boolean),
        ("sequence", t::is_sequence),
        ("iterable", t::is_iterable),
        ("mapping", t::is_mapping),
        ("true", t::is_true),
        ("false", t::is_false),
    ] {
        env.add_test(name, test);
    }
    env.add_test("odd", t::is_odd);
    env.add_test("even", t::is_even);
    env.add_test("divisibleby", t::is_divisibleby);
    env.add_test("startingwith", t::is_startingwith);
    env.add_test("endingwith", t::is_endingwith);
    env.add_test("in", t::is_in);
    env.add_test("eq", t::is_eq);
    env.add_test("ne", t::is_ne);
    env.add_test("lt", t::is_lt);
    env.add_test("le", t::is_le);
    env.add_test("gt", t::is_gt);
    env.add_test("ge", t::is_ge);
    env.add_test("lower", t::is_lower);
    env.add_test("upper", t::is_upper);
    env.add_function("range", functions::range);
    env.add_function("dict", functions::dict);
    let b = budget.clone();
    env.add_function(ADD, move |a: &Value, c: &Value| b.add(a, c));
    let b = budget.clone();
    env.add_function(MUL, move |a: &Value, c: &Value| b.mul(a, c));
    let b = budget.clone();
    env.add_function(CONCAT, move |a: &Value, c: &Value| b.concat(a, c));
    let b = budget.clone();
    env.set_formatter(move |out, _state, value| b.write(out, value));
    env
}

/// The instructions with the growing operators bounded, literal text written
/// through the formatter, and capturing or recursive constructs refused.
fn rebuild<'s>(old: &Instructions<'s>) -> Result<Instructions<'s>, String> {
    let count = old.len() as u32;
    let get = |i: u32| old.get(i).expect("an instruction in range");
    // Literal text becomes two instructions: where each old one lands.
    let mut at = Vec::with_capacity(old.len() + 1);
    let mut next = 0u32;
    for i in 0..count {
        at.push(next);
        next += if matches!(get(i), Instruction::EmitRaw(_)) {
            2
        } else {
            1
        };
    }
    at.push(next);
    let to = |target: &u32| at[*target as usize];
    let mut new = Instructions::new(old.name(), old.source());
    for i in 0..count {
        let line = old.get_line(i).unwrap_or(1) as u16;
        let instruction = match get(i) {
            Instruction::EmitRaw(text) => {
                new.add_with_line(Instruction::LoadConst(Value::from(*text)), line);
                Instruction::Emit
            }
            Instruction::Add => Instruction::CallFunction(ADD, Some(2)),
            Instruction::Mul => Instruction::CallFunction(MUL, Some(2)),
            Instruction::StringConcat => Instruction::CallFunction(CONCAT, Some(2)),
            Instruction::Jump(t) => Instruction::Jump(to(t)),
            Instruction::JumpIfFalse(t) => Instruction::JumpIfFalse(to(t)),
            Instruction::JumpIfFalseOrPop(t) => Instruction::JumpIfFalseOrPop(to(t)),
            Instruction::JumpIfTrueOrPop(t) => Instruction::JumpIfTrueOrPop(to(t)),
            Instruction::Iterate(t) => Instruction::Iterate(to(t)),
            Instruction::PushLoop(flags) if flags & LOOP_FLAG_RECURSIVE != 0 => {
                return Err(unavailable("recursive loops"));
            }
            Instruction::BeginCapture(_) | Instruction::EndCapture => {
                return Err(unavailable(
                    "blocks that capture output ({% set x %}…{% endset %}, {% filter %})",
                ));
            }
            Instruction::FastRecurse | Instruction::FastSuper => {
                return Err(unavailable("recursive loops and super()"));
            }
            other => other.clone(),
        };
        new.add_with_line(instruction, line);
    }
    Ok(new)
}

fn unavailable(what: &str) -> String {
    format!("{what} are not available in calculated policies")
}

/// Checks every statement's expressions (see [`check_expr`]).
fn check_stmt(stmt: &Stmt<'_>) -> Result<(), String> {
    let all = |stmts: &[Stmt<'_>]| stmts.iter().try_for_each(check_stmt);
    match stmt {
        Stmt::Template(t) => all(&t.children),
        Stmt::EmitExpr(e) => check_expr(&e.expr),
        Stmt::EmitRaw(_) => Ok(()),
        Stmt::ForLoop(l) => {
            check_expr(&l.target)?;
            check_expr(&l.iter)?;
            l.filter_expr.iter().try_for_each(check_expr)?;
            all(&l.body)?;
            all(&l.else_body)
        }
        Stmt::IfCond(c) => {
            check_expr(&c.expr)?;
            all(&c.true_body)?;
            all(&c.false_body)
        }
        Stmt::WithBlock(w) => {
            for (target, value) in &w.assignments {
                check_expr(target)?;
                check_expr(value)?;
            }
            all(&w.body)
        }
        Stmt::Set(s) => {
            check_expr(&s.target)?;
            check_expr(&s.expr)
        }
        Stmt::SetBlock(s) => all(&s.body),
        Stmt::AutoEscape(a) => {
            check_expr(&a.enabled)?;
            all(&a.body)
        }
        Stmt::FilterBlock(f) => {
            check_expr(&f.filter)?;
            all(&f.body)
        }
        Stmt::Do(d) => {
            check_expr(&d.call.expr)?;
            check_args(&d.call.args)
        }
    }
}

fn check_args(args: &[CallArg<'_>]) -> Result<(), String> {
    args.iter().try_for_each(|arg| match arg {
        CallArg::Pos(e) | CallArg::Kwarg(_, e) | CallArg::PosSplat(e) | CallArg::KwargSplat(e) => {
            check_expr(e)
        }
    })
}

/// The compiler folds constant expressions before anything runs: every
/// expression that is constant must fold to something small.
fn check_expr(expr: &Expr<'_>) -> Result<(), String> {
    if let Some(folded) = constant_size(expr)
        && folded.bytes > MAX_VALUE_BYTES
    {
        return Err(format!(
            "a constant in the template would be {} bytes; a template builds values of at most {} KiB",
            folded.bytes,
            MAX_VALUE_BYTES / 1024
        ));
    }
    match expr {
        Expr::Var(_) | Expr::Const(_) => Ok(()),
        Expr::Slice(s) => {
            check_expr(&s.expr)?;
            [&s.start, &s.stop, &s.step]
                .into_iter()
                .flatten()
                .try_for_each(check_expr)
        }
        Expr::UnaryOp(u) => check_expr(&u.expr),
        Expr::BinOp(b) => {
            check_expr(&b.left)?;
            check_expr(&b.right)
        }
        Expr::Compare(c) => {
            check_expr(&c.expr)?;
            c.ops.iter().try_for_each(|op| check_expr(&op.expr))
        }
        Expr::IfExpr(i) => {
            check_expr(&i.test_expr)?;
            check_expr(&i.true_expr)?;
            i.false_expr.iter().try_for_each(check_expr)
        }
        Expr::Filter(f) => {
            f.expr.iter().try_for_each(check_expr)?;
            check_args(&f.args)
        }
        Expr::Test(t) => {
            check_expr(&t.expr)?;
            check_args(&t.args)
        }
        Expr::GetAttr(g) => check_expr(&g.expr),
        Expr::GetItem(g) => {
            check_expr(&g.expr)?;
            check_expr(&g.subscript_expr)
        }
        Expr::Call(c) => {
            check_expr(&c.expr)?;
            check_args(&c.args)
        }
        Expr::List(l) => l.items.iter().try_for_each(check_expr),
        Expr::Map(m) => m.keys.iter().chain(&m.values).try_for_each(check_expr),
    }
}

/// A constant expression's size, worked out without building it.
#[derive(Clone, Copy)]
struct Folded {
    /// Its length as a string (or displayed).
    bytes: usize,
    /// Its value, when it is an integer (what `*` repeats by).
    int: Option<i128>,
    /// Items, when it is a list.
    items: Option<usize>,
    /// Whether `*` repeats it (a string or a list).
    grows: bool,
}

/// The size [`Folded`] of `expr` if the compiler would fold it, as
/// `Expr::as_const` does (constants, lists of constants, and operators on
/// constant operands); `None` otherwise.
fn constant_size(expr: &Expr<'_>) -> Option<Folded> {
    /// Room for any number or word as displayed.
    const SCALAR: usize = 48;
    match expr {
        Expr::Const(c) => Some(match (c.value.as_str(), c.value.as_i64()) {
            (Some(text), _) => Folded {
                bytes: text.len(),
                int: None,
                items: None,
                grows: true,
            },
            (None, int) => Folded {
                bytes: SCALAR,
                int: int.map(i128::from),
                items: None,
                grows: false,
            },
        }),
        Expr::List(l) if l.items.iter().all(|i| matches!(i, Expr::Const(_))) => {
            let bytes = l
                .items
                .iter()
                .filter_map(constant_size)
                .map(|f| f.bytes + 4)
                .sum();
            Some(Folded {
                bytes,
                int: None,
                items: Some(l.items.len()),
                grows: true,
            })
        }
        Expr::Map(m)
            if m.keys
                .iter()
                .chain(&m.values)
                .all(|i| matches!(i, Expr::Const(_))) =>
        {
            Some(Folded {
                bytes: m
                    .keys
                    .iter()
                    .chain(&m.values)
                    .filter_map(constant_size)
                    .map(|f| f.bytes + 4)
                    .sum(),
                int: None,
                items: None,
                grows: false,
            })
        }
        Expr::UnaryOp(u) => {
            let inner = constant_size(&u.expr)?;
            Some(match u.op {
                UnaryOpKind::Neg => Folded {
                    bytes: SCALAR,
                    int: inner.int.and_then(i128::checked_neg),
                    items: None,
                    grows: false,
                },
                UnaryOpKind::Not => Folded {
                    bytes: SCALAR,
                    int: None,
                    items: None,
                    grows: false,
                },
            })
        }
        Expr::BinOp(b) => {
            let (left, right) = (constant_size(&b.left)?, constant_size(&b.right)?);
            Some(fold(b.op, left, right))
        }
        Expr::Compare(c) => {
            constant_size(&c.expr)?;
            for op in &c.ops {
                constant_size(&op.expr)?;
            }
            Some(Folded {
                bytes: SCALAR,
                int: None,
                items: None,
                grows: false,
            })
        }
        _ => None,
    }
}

/// The size of `left op right`, both constants.
fn fold(op: BinOpKind, left: Folded, right: Folded) -> Folded {
    const SCALAR: usize = 48;
    let scalar = |int: Option<i128>| Folded {
        bytes: SCALAR,
        int,
        items: None,
        grows: false,
    };
    let repeat = |grown: Folded, times: i128| {
        let times = usize::try_from(times.max(0)).unwrap_or(usize::MAX);
        Folded {
            bytes: grown.bytes.saturating_mul(times),
            int: None,
            items: grown.items.map(|n| n.saturating_mul(times)),
            grows: true,
        }
    };
    let ints = left.int.zip(right.int);
    match op {
        BinOpKind::Concat => Folded {
            bytes: left.bytes.saturating_add(right.bytes),
            int: None,
            items: None,
            grows: true,
        },
        BinOpKind::Add | BinOpKind::Sub | BinOpKind::Rem | BinOpKind::FloorDiv
            if ints.is_some() =>
        {
            let (a, b) = ints.unwrap_or_default();
            scalar(match op {
                BinOpKind::Add => a.checked_add(b),
                BinOpKind::Sub => a.checked_sub(b),
                _ => None,
            })
        }
        // A string or list repeated: its size times the other side's value; a
        // repetition by something not an integer counts as unbounded.
        BinOpKind::Mul => match (left.int, right.int) {
            (Some(a), Some(b)) => scalar(a.checked_mul(b)),
            (Some(n), None) if right.grows => repeat(right, n),
            (None, Some(n)) if left.grows => repeat(left, n),
            _ if left.grows || right.grows => repeat(left, i128::MAX),
            _ => scalar(None),
        },
        BinOpKind::Add => Folded {
            bytes: left.bytes.saturating_add(right.bytes),
            int: None,
            items: left
                .items
                .zip(right.items)
                .map(|(a, b)| a.saturating_add(b)),
            grows: left.grows || right.grows,
        },
        BinOpKind::ScAnd | BinOpKind::ScOr => Folded {
            bytes: left.bytes.max(right.bytes),
            int: left.int.or(right.int),
            items: left.items.max(right.items),
            grows: left.grows || right.grows,
        },
        _ => scalar(None),
    }
}
