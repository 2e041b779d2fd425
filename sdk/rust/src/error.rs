//! The crate's error: the operation, what it was applied to, and the Linux
//! errno the host returned (or the crate chose when it refused a call
//! before making it).

use std::fmt;
use std::io;

// Linux errno numbers, as the host returns them (negated). WASI numbers
// errors differently (its ENOENT is 44), so these are the crate's own.
pub const EPERM: i32 = 1;
pub const ENOENT: i32 = 2;
pub const EINTR: i32 = 4;
pub const EIO: i32 = 5;
pub const E2BIG: i32 = 7;
pub const EBADF: i32 = 9;
pub const EAGAIN: i32 = 11;
pub const ENOMEM: i32 = 12;
pub const EACCES: i32 = 13;
pub const EFAULT: i32 = 14;
pub const EBUSY: i32 = 16;
pub const EEXIST: i32 = 17;
pub const ENODEV: i32 = 19;
pub const EINVAL: i32 = 22;
pub const ENOSPC: i32 = 28;
pub const ERANGE: i32 = 34;
pub const ENOSYS: i32 = 38;
pub const EPROTO: i32 = 71;
pub const EOPNOTSUPP: i32 = 95;
pub const ETIMEDOUT: i32 = 110;
pub const ENOTSUPP: i32 = 524;

/// Names and descriptions of the errnos above, for messages.
const NAMES: &[(i32, &str, &str)] = &[
    (EPERM, "EPERM", "operation not permitted"),
    (ENOENT, "ENOENT", "no such file or directory"),
    (EINTR, "EINTR", "interrupted system call"),
    (EIO, "EIO", "input/output error"),
    (E2BIG, "E2BIG", "argument list too long"),
    (EBADF, "EBADF", "bad file descriptor"),
    (EAGAIN, "EAGAIN", "resource temporarily unavailable"),
    (ENOMEM, "ENOMEM", "cannot allocate memory"),
    (EACCES, "EACCES", "permission denied"),
    (EFAULT, "EFAULT", "bad address"),
    (EBUSY, "EBUSY", "device or resource busy"),
    (EEXIST, "EEXIST", "file exists"),
    (ENODEV, "ENODEV", "no such device"),
    (EINVAL, "EINVAL", "invalid argument"),
    (ENOSPC, "ENOSPC", "no space left on device"),
    (ERANGE, "ERANGE", "numerical result out of range"),
    (ENOSYS, "ENOSYS", "function not implemented"),
    (EPROTO, "EPROTO", "protocol error"),
    (EOPNOTSUPP, "EOPNOTSUPP", "operation not supported"),
    (ETIMEDOUT, "ETIMEDOUT", "connection timed out"),
    (ENOTSUPP, "ENOTSUPP", "operation not supported (kernel-internal ENOTSUPP)"),
];

/// A failed operation of this crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    op: &'static str,
    name: String,
    errno: i32,
    detail: Option<String>,
    message: Option<String>,
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of operation `op` on `name` (a program, map or variable;
    /// "" for none) with Linux errno `errno` (positive).
    pub(crate) fn new(op: &'static str, name: &str, errno: i32) -> Error {
        Error { op, name: name.to_string(), errno, detail: None, message: None }
    }

    /// The error of a result `ret` < 0, a negated Linux errno.
    pub(crate) fn ret(op: &'static str, name: &str, ret: i32) -> Error {
        Error::new(op, name, ret.checked_neg().unwrap_or(EIO))
    }

    /// The error of a host call that returned `ret` < 0, with the runtime's
    /// explanation when it has one for that call (feature "ext").
    pub(crate) fn host(op: &'static str, name: &str, ret: i32) -> Error {
        #[allow(unused_mut)]
        let mut e = Error::ret(op, name, ret);
        #[cfg(feature = "ext")]
        {
            // A missing key explains itself, and comes often: it costs no
            // second host call.
            let missing = e.errno == ENOENT && matches!(op, "map lookup" | "map delete" | "map next key");
            if !missing {
                if let Some((errno, msg)) = crate::sys::last_error() {
                    if errno == e.errno {
                        e.message = Some(msg);
                    }
                }
            }
        }
        e
    }

    /// The error of a failed load, which returns no errno: the runtime's
    /// errno and explanation (feature "ext"), or EINVAL.
    pub(crate) fn load() -> Error {
        #[cfg(feature = "ext")]
        {
            if let Some((errno, msg)) = crate::sys::last_error() {
                let mut e = Error::new("load", "", errno);
                e.message = Some(msg);
                return e;
            }
        }
        Error::new("load", "", EINVAL).with_detail("the runtime refused the object (wasm-bpf -v prints libbpf's and the verifier's reasons; feature \"ext\" says them here)")
    }

    /// Adds why the crate refused the call, or what the errno means here.
    pub(crate) fn with_detail(mut self, detail: impl Into<String>) -> Error {
        self.detail = Some(detail.into());
        self
    }

    /// The Linux errno number (positive): compare with the constants of
    /// this module, e.g. `err.errno() == wasm_bpf::ENOENT`.
    pub fn errno(&self) -> i32 {
        self.errno
    }

    /// The operation that failed: "load", "attach", "map lookup", ...
    pub fn op(&self) -> &str {
        self.op
    }

    /// The program, map or variable the operation was applied to ("" for
    /// none).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The runtime's own explanation of the failure, the cause and its
    /// fix, when it gives one (feature "ext": wasm_bpf_last_error).
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// Whether the error is ENOENT: a missing key, map or program.
    pub fn is_not_found(&self) -> bool {
        self.errno == ENOENT
    }

    /// The errno's symbolic name, or "errno N".
    pub fn errno_name(&self) -> String {
        match NAMES.iter().find(|n| n.0 == self.errno) {
            Some(n) => n.1.to_string(),
            None => format!("errno {}", self.errno),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.op)?;
        if !self.name.is_empty() {
            write!(f, " {}", self.name)?;
        }
        match NAMES.iter().find(|n| n.0 == self.errno) {
            Some(n) => write!(f, ": {} ({})", n.2, n.1)?,
            None => write!(f, ": errno {}", self.errno)?,
        }
        // The runtime's explanation, when it gives one, says what the
        // crate's detail of a host error can only guess.
        match (&self.message, &self.detail) {
            (Some(m), _) => write!(f, ": {}", m),
            (None, Some(d)) => write!(f, ": {}", d),
            (None, None) => Ok(()),
        }
    }
}

impl std::error::Error for Error {}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        let kind = match e.errno {
            ENOENT => io::ErrorKind::NotFound,
            EPERM | EACCES => io::ErrorKind::PermissionDenied,
            EEXIST => io::ErrorKind::AlreadyExists,
            EINVAL | ERANGE | E2BIG => io::ErrorKind::InvalidInput,
            EINTR => io::ErrorKind::Interrupted,
            EAGAIN => io::ErrorKind::WouldBlock,
            ETIMEDOUT => io::ErrorKind::TimedOut,
            ENOSYS | EOPNOTSUPP | ENOTSUPP => io::ErrorKind::Unsupported,
            ENOMEM => io::ErrorKind::OutOfMemory,
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display() {
        let e = Error::host("attach", "handle_exec", -ENOENT);
        assert_eq!(e.errno(), ENOENT);
        assert_eq!(e.to_string(), "attach handle_exec: no such file or directory (ENOENT)");
        let e = Error::new("load", "", EINVAL).with_detail("not an ELF file");
        assert_eq!(e.to_string(), "load: invalid argument (EINVAL): not an ELF file");
        assert_eq!(Error::new("x", "", 1234).to_string(), "x: errno 1234");
        assert_eq!(Error::new("x", "", 1234).errno_name(), "errno 1234");
        assert_eq!(io::Error::from(Error::new("map lookup", "m", ENOENT)).kind(), io::ErrorKind::NotFound);
        // i32::MIN has no positive counterpart: EIO rather than a panic.
        assert_eq!(Error::host("poll", "rb", i32::MIN).errno(), EIO);
        let mut e = Error::new("attach", "p", ENOENT).with_detail("the crate's guess");
        e.message = Some("the runtime's reason".to_string());
        assert_eq!(e.to_string(), "attach p: no such file or directory (ENOENT): the runtime's reason");
    }
}
