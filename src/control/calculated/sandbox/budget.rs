//! What one render may build and write, counted by the bounded operators,
//! filters and formatter that the sandbox's environment holds.

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use minijinja::value::ValueKind;
use minijinja::{Environment, Error, ErrorKind, Expression, Value};

use super::{
    ADD, CONCAT, MAX_BUILT_BYTES, MAX_FUEL, MAX_ITEMS, MAX_VALUE_BYTES, MAX_WRITTEN_BYTES, MUL,
};

/// What one render has built and written so far.
pub(super) struct Budget {
    pub(super) built: AtomicUsize,
    pub(super) written: AtomicUsize,
    pub(super) cancel: Arc<AtomicBool>,
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
pub(super) fn environment<'s>(budget: &Arc<Budget>) -> Environment<'s> {
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
    // Their arguments are taken as values and displayed through the budget:
    // minijinja's own conversion to text would display a list or map unbounded
    // and uncounted, on every call.
    let b = budget.clone();
    env.add_filter("replace", move |v: &Value, from: &Value, to: &Value| {
        b.replace(&b.text_of(v)?, &b.text_of(from)?, &b.text_of(to)?)
    });
    let b = budget.clone();
    env.add_filter("join", move |v: &Value, joiner: Option<Value>| {
        let joiner = joiner
            .map(|j| b.text_of(&j).map(Cow::into_owned))
            .transpose()?;
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
