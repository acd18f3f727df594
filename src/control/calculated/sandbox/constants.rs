//! The compiler folds constant expressions before anything runs, so their
//! size is worked out from the syntax tree first: every constant expression
//! must fold to at most [`MAX_VALUE_BYTES`].

use minijinja::machinery::ast::{BinOpKind, CallArg, Expr, Stmt, UnaryOpKind};

use super::MAX_VALUE_BYTES;

/// Checks every statement's expressions (see [`check_expr`]).
pub(super) fn check_stmt(stmt: &Stmt<'_>) -> Result<(), String> {
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
