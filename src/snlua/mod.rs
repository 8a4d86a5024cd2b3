//! snlua, the Lua service host (placeholder until it lands).

use crate::module::Builtin;

pub const BUILTINS: &[Builtin] = &[];
