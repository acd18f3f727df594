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

mod budget;
mod constants;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize};

use minijinja::machinery::{self, CodeGenerator, Instruction, Instructions, Vm, WhitespaceConfig};
use minijinja::syntax::SyntaxConfig;
use minijinja::{AutoEscape, Value};

use super::{INPUT_NAME, describe};
use budget::{Budget, environment};
use constants::check_stmt;

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
