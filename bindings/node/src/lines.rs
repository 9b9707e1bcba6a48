//! [`Lines`]: the strings of a JavaScript array copied into one UTF-8 buffer, fast.
//!
//! Converting `Array<string>` the usual way (napi's `Vec<String>`) costs two napi calls and
//! one heap allocation per element, and joining the array in JavaScript first
//! (`Array.prototype.join`) builds a second copy of all the text on the V8 heap; for a million
//! log lines either costs more than mining them. Here every element is written by
//! `napi_get_value_string_utf8` straight into the spare capacity of one growing `Vec<u8>`,
//! and only the end offset of each line is recorded: one napi call for the element, one for
//! its text, no allocation per line. Handles are released every [`SCOPE_ELEMENTS`] elements so
//! a big array does not pile up handles in the caller's scope.
//!
//! This module holds the crate's raw napi calls (napi-rs has no safe API for writing a string
//! into a caller-provided buffer); each `unsafe` block states why it is sound.

use std::ptr;

use napi::bindgen_prelude::{Array, BufferSlice, Either4, Unknown};
use napi::{sys, Env, JsValue, ValueType};

use crate::error::{Family, JsFailure};

/// Elements read per handle scope.
const SCOPE_ELEMENTS: u32 = 4096;
/// Spare bytes kept free in the buffer before writing an element (a longer element costs a
/// second call that asks its exact length).
const MIN_SPARE_BYTES: usize = 64 * 1024;
/// Bytes by which a UTF-8 write may stop short of the buffer's end when it truncates (a
/// multi-byte character that does not fit is left out whole), plus the NUL terminator.
const TRUNCATION_SLACK_BYTES: usize = 4;

/// Lines of text in one buffer: line `i` is `text[ends[i - 1]..ends[i]]`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Lines {
    text: String,
    ends: Vec<usize>,
}

impl Lines {
    /// Lines from Rust strings (tests, and the fallback of callers that have `String`s).
    pub fn from_strs<'a>(lines: impl IntoIterator<Item = &'a str>) -> Self {
        let mut l = Lines::default();
        for s in lines {
            l.text.push_str(s);
            l.ends.push(l.text.len());
        }
        l
    }

    /// Number of lines.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are no lines.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The lines in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let s = self.text.get(start..end).unwrap_or_default();
            start = end;
            s
        })
    }

    /// Copies the strings of `array` (named `what` in errors, e.g. `lines`). Every element
    /// must be a string; otherwise an `ERR_FAULTLINE_INPUT` error names its index and type.
    pub(crate) fn read(env: &Env, array: &Array<'_>, what: &str) -> Result<Self, JsFailure> {
        Copied::read_range(env, array, what, 0, array.len(), MIN_SPARE_BYTES)?.decode(what)
    }
}

/// Strings as copied out of JavaScript (UTF-8 bytes and the end of each string), before
/// [`Copied::decode`] checks them into [`Lines`] (which may run on another thread).
#[derive(Debug)]
pub(crate) struct Copied {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Copied {
    /// [`Lines::read`] in pieces of `chunk_lines` elements, each handed to `sink` as soon as it
    /// is copied (so a consumer on another thread decodes and uses it while the rest is
    /// copied); stops early when `sink` returns `false`.
    pub(crate) fn read_chunked(
        env: &Env,
        array: &Array<'_>,
        what: &str,
        chunk_lines: u32,
        mut sink: impl FnMut(Copied) -> bool,
    ) -> Result<(), JsFailure> {
        let n = array.len();
        let mut start = 0u32;
        let mut guess = MIN_SPARE_BYTES;
        while start < n {
            let stop = n.min(start.saturating_add(chunk_lines.max(1)));
            let chunk = Self::read_range(env, array, what, start, stop, guess)?;
            let used = chunk.bytes.len();
            guess = used + used / 8 + MIN_SPARE_BYTES;
            if !sink(chunk) {
                break;
            }
            start = stop;
        }
        Ok(())
    }

    /// Elements `start..stop` of `array`, into a buffer of `capacity` bytes to begin with.
    fn read_range(
        env: &Env,
        array: &Array<'_>,
        what: &str,
        start: u32,
        stop: u32,
        capacity: usize,
    ) -> Result<Self, JsFailure> {
        let mut bytes = Vec::with_capacity(capacity);
        let ends = read_into(env, array, what, start, stop, &mut bytes)?;
        Ok(Copied { bytes, ends })
    }

    /// The strings as [`Lines`] (their UTF-8 checked once, in one pass).
    pub(crate) fn decode(self, what: &str) -> Result<Lines, JsFailure> {
        let text = String::from_utf8(self.bytes)
            .map_err(|e| JsFailure::new(Family::Internal, format!("{what}: V8 wrote invalid UTF-8: {e}")))?;
        Ok(Lines {
            text,
            ends: self.ends,
        })
    }
}

/// Appends the strings of elements `start..stop` to `buf`; returns where each ends.
fn read_into(
    env: &Env,
    array: &Array<'_>,
    what: &str,
    start: u32,
    stop: u32,
    buf: &mut Vec<u8>,
) -> Result<Vec<usize>, JsFailure> {
    let raw_env = env.raw();
    let raw_array = array.raw();
    let mut ends: Vec<usize> = Vec::with_capacity(stop.saturating_sub(start) as usize);
    let mut first = start;
    while first < stop {
        let last = stop.min(first.saturating_add(SCOPE_ELEMENTS));
        let scope = HandleScope::open(raw_env)?;
        for i in first..last {
            let value = element(raw_env, raw_array, i)?;
            append_utf8(raw_env, value, buf).map_err(|status| {
                if status == sys::Status::napi_string_expected {
                    JsFailure::input(format!(
                        "{what}[{i}]: expected a string, got {}",
                        type_name(raw_env, value)
                    ))
                } else {
                    napi_failure(format!("{what}[{i}]: reading the string"), status)
                }
            })?;
            ends.push(buf.len());
        }
        scope.close()?;
        first = last;
    }
    Ok(ends)
}

/// The `lines` argument as napi converts it: an array of strings, newline-separated text as a
/// `Buffer` or a string, or anything else (reported as a typed error by [`LinesArg::input`]).
pub type LinesArg<'a> = Either4<Array<'a>, BufferSlice<'a>, String, Unknown<'a>>;

/// A `lines` argument sorted out: an array still to copy, or text already copied.
pub(crate) enum Input<'a> {
    /// An array of strings, one line each.
    Array(Array<'a>),
    /// Newline-separated text, not yet checked to be UTF-8.
    Text(Vec<u8>),
}

/// Sorts out a `lines` argument named `what`.
pub(crate) fn input<'a>(arg: LinesArg<'a>, what: &str) -> Result<Input<'a>, JsFailure> {
    match arg {
        Either4::A(array) => Ok(Input::Array(array)),
        Either4::B(bytes) => Ok(Input::Text(bytes.to_vec())),
        Either4::C(text) => Ok(Input::Text(text.into_bytes())),
        Either4::D(other) => Err(JsFailure::input(format!(
            "{what}: expected an array of strings, a Buffer or a string, got {}",
            match other.get_type() {
                Ok(ValueType::Undefined) => "undefined",
                Ok(ValueType::Null) => "null",
                Ok(ValueType::Boolean) => "a boolean",
                Ok(ValueType::Number) => "a number",
                Ok(ValueType::BigInt) => "a bigint",
                Ok(ValueType::Symbol) => "a symbol",
                Ok(ValueType::Function) => "a function",
                Ok(ValueType::Object) => "an object",
                _ => "a value of another type",
            }
        ))),
    }
}

/// `bytes` as text, or an `ERR_FAULTLINE_INPUT` error naming the offset of the first byte
/// that is not UTF-8.
pub(crate) fn utf8_text(bytes: Vec<u8>, what: &str) -> Result<String, JsFailure> {
    String::from_utf8(bytes).map_err(|e| {
        JsFailure::input(format!(
            "{what}: invalid UTF-8 at byte {}",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// Lines read in full from a `lines` argument: copied array strings, or text split at
/// newlines (`\r\n` too; a final newline ends the last line).
pub(crate) enum Batch {
    /// Array strings.
    Lines(Lines),
    /// Newline-separated text.
    Text(String),
}

impl Batch {
    /// Reads `input` in full on the calling thread.
    pub(crate) fn read(env: &Env, input: Input<'_>, what: &str) -> Result<Self, JsFailure> {
        match input {
            Input::Array(array) => Ok(Batch::Lines(Lines::read(env, &array, what)?)),
            Input::Text(bytes) => Ok(Batch::Text(utf8_text(bytes, what)?)),
        }
    }

    /// The lines in order.
    pub(crate) fn iter(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        match self {
            Batch::Lines(l) => Box::new(l.iter()),
            Batch::Text(t) => Box::new(t.lines()),
        }
    }

    /// The number of lines; for text a guess (one line per 64 bytes), not a second pass.
    pub(crate) fn len_hint(&self) -> usize {
        match self {
            Batch::Lines(l) => l.len(),
            Batch::Text(t) => t.len() / 64 + 1,
        }
    }
}

/// A napi handle scope, closed explicitly (or on drop when reading failed).
struct HandleScope {
    env: sys::napi_env,
    scope: sys::napi_handle_scope,
}

impl HandleScope {
    fn open(env: sys::napi_env) -> Result<Self, JsFailure> {
        let mut scope = ptr::null_mut();
        // SAFETY: `env` is the live environment of the current call on the JavaScript thread;
        // `scope` is a valid out-pointer.
        #[allow(unsafe_code)]
        let status = unsafe { sys::napi_open_handle_scope(env, &mut scope) };
        ok(status, "opening a handle scope")?;
        Ok(Self { env, scope })
    }

    fn close(mut self) -> Result<(), JsFailure> {
        let scope = std::mem::replace(&mut self.scope, ptr::null_mut());
        // SAFETY: `scope` was opened on `env` by `open`, is the innermost open scope (the
        // handles created since are not kept) and is closed once (nulled for `drop`).
        #[allow(unsafe_code)]
        let status = unsafe { sys::napi_close_handle_scope(self.env, scope) };
        ok(status, "closing a handle scope")
    }
}

impl Drop for HandleScope {
    fn drop(&mut self) {
        if !self.scope.is_null() {
            // SAFETY: as in `close`; reached only when reading failed before `close`.
            #[allow(unsafe_code)]
            unsafe {
                sys::napi_close_handle_scope(self.env, self.scope);
            }
        }
    }
}

fn napi_failure(what: String, status: sys::napi_status) -> JsFailure {
    JsFailure::new(Family::Internal, format!("{what}: napi status {status}"))
}

fn ok(status: sys::napi_status, what: &str) -> Result<(), JsFailure> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi_failure(what.to_string(), status))
    }
}

fn element(env: sys::napi_env, array: sys::napi_value, i: u32) -> Result<sys::napi_value, JsFailure> {
    let mut value = ptr::null_mut();
    // SAFETY: `env` is live on this thread, `array` a handle of an array valid for this call
    // (held by the caller's scope), `value` a valid out-pointer.
    #[allow(unsafe_code)]
    let status = unsafe { sys::napi_get_element(env, array, i, &mut value) };
    ok(status, "reading an array element")?;
    Ok(value)
}

/// Appends the UTF-8 text of the JavaScript string `value` to `buf` (no terminator).
fn append_utf8(
    env: sys::napi_env,
    value: sys::napi_value,
    buf: &mut Vec<u8>,
) -> Result<(), sys::napi_status> {
    if buf.capacity() - buf.len() < MIN_SPARE_BYTES {
        buf.reserve(MIN_SPARE_BYTES.max(buf.len() / 2));
    }
    let spare = buf.capacity() - buf.len();
    let copied = write_utf8(env, value, buf, spare)?;
    let copied = if copied + TRUNCATION_SLACK_BYTES >= spare {
        // Possibly truncated: ask for the exact length and write it again, whole.
        let mut len = 0usize;
        // SAFETY: a null buffer asks only for the length in bytes (napi contract).
        #[allow(unsafe_code)]
        let status = unsafe { sys::napi_get_value_string_utf8(env, value, ptr::null_mut(), 0, &mut len) };
        if status != sys::Status::napi_ok {
            return Err(status);
        }
        buf.reserve(len + 1);
        write_utf8(env, value, buf, len + 1)?
    } else {
        copied
    };
    commit(buf, copied);
    Ok(())
}

/// Writes at most `room - 1` bytes of `value` and a NUL into the spare capacity of `buf`;
/// returns the bytes written (without the NUL). `room` must not exceed the spare capacity.
fn write_utf8(
    env: sys::napi_env,
    value: sys::napi_value,
    buf: &mut Vec<u8>,
    room: usize,
) -> Result<usize, sys::napi_status> {
    let room = room.min(buf.capacity() - buf.len());
    let dst = buf.spare_capacity_mut().as_mut_ptr().cast::<std::ffi::c_char>();
    let mut copied = 0usize;
    // SAFETY: `dst` points to `room` writable bytes (the spare capacity of `buf`, clamped
    // above); napi writes at most `room - 1` bytes plus a NUL there and reports the count.
    #[allow(unsafe_code)]
    let status = unsafe { sys::napi_get_value_string_utf8(env, value, dst, room, &mut copied) };
    if status != sys::Status::napi_ok {
        return Err(status);
    }
    Ok(copied.min(room.saturating_sub(1)))
}

/// Extends `buf` over the `copied` bytes napi has just written into its spare capacity.
fn commit(buf: &mut Vec<u8>, copied: usize) {
    let new_len = buf.len() + copied;
    debug_assert!(new_len <= buf.capacity());
    // SAFETY: `write_utf8` initialised `copied` bytes (clamped to the spare capacity) right
    // after the current length.
    #[allow(unsafe_code)]
    unsafe {
        buf.set_len(new_len);
    }
}

fn type_name(env: sys::napi_env, value: sys::napi_value) -> &'static str {
    let mut t = 0;
    // SAFETY: live `env`, `value` a handle in the current scope, `t` a valid out-pointer.
    #[allow(unsafe_code)]
    let status = unsafe { sys::napi_typeof(env, value, &mut t) };
    if status != sys::Status::napi_ok {
        return "a value of unknown type";
    }
    match t {
        sys::ValueType::napi_undefined => "undefined",
        sys::ValueType::napi_null => "null",
        sys::ValueType::napi_boolean => "a boolean",
        sys::ValueType::napi_number => "a number",
        sys::ValueType::napi_symbol => "a symbol",
        sys::ValueType::napi_object => "an object",
        sys::ValueType::napi_function => "a function",
        sys::ValueType::napi_external => "an external",
        sys::ValueType::napi_bigint => "a bigint",
        _ => "a value of another type",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_from_strs_iterate_in_order() {
        let l = Lines::from_strs(["a b", "", "ü 1"]);
        assert_eq!(l.len(), 3);
        assert_eq!(l.iter().collect::<Vec<_>>(), ["a b", "", "ü 1"]);
        assert!(Lines::default().is_empty());
    }
}
