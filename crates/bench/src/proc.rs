//! Reading a process's memory and CPU time, and pinning processes to CPUs (Linux).

use std::process::Command;

use crate::error::{BenchError, Result};

/// Resident set size of process `pid`, in bytes (`VmRSS` in `/proc/<pid>/status`).
///
/// # Errors
/// When the process is gone or the file has no `VmRSS` line.
pub fn rss_bytes(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(BenchError::io(format!("read {path}")))?;
    parse_vm_rss(&status).ok_or_else(|| BenchError::Io {
        context: format!("read {path}"),
        source: std::io::Error::other("no VmRSS line"),
    })
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// CPU time process `pid` has used, user and system (`/proc/<pid>/stat`, in the kernel's
/// fixed 100 ticks a second).
///
/// # Errors
/// When the process is gone or the file cannot be read so.
pub fn cpu_time(pid: u32) -> Result<std::time::Duration> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).map_err(BenchError::io(format!("read {path}")))?;
    parse_cpu_ticks(&stat)
        .map(|ticks| std::time::Duration::from_millis(ticks * 10))
        .ok_or_else(|| BenchError::Io {
            context: format!("read {path}"),
            source: std::io::Error::other("no utime and stime"),
        })
}

/// utime + stime: the 14th and 15th fields, counted after the command's `(name)`, which may
/// hold spaces.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

/// How many CPUs this process may run on (1 when unknown).
#[must_use]
pub fn cpu_count() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// Whether `taskset` can be used.
#[must_use]
pub fn has_taskset() -> bool {
    Command::new("taskset")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Pins every thread of this process to `cpu`.
///
/// # Errors
/// When `taskset` fails.
pub fn pin_self(cpu: usize) -> Result<()> {
    let status = Command::new("taskset")
        .args([
            "-a",
            "-c",
            "-p",
            &cpu.to_string(),
            &std::process::id().to_string(),
        ])
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(BenchError::io("run taskset"))?;
    if status.success() {
        Ok(())
    } else {
        Err(BenchError::Io {
            context: "pin the load generator".into(),
            source: std::io::Error::other(format!("taskset exited with {status}")),
        })
    }
}

/// Raises this process's open-files limit as far as allowed; returns the new soft limit.
///
/// # Errors
/// When the limit cannot be read or set.
pub fn raise_open_files() -> Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX).map_err(BenchError::io("raise the open-files limit"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_read_past_a_name_with_spaces() {
        let stat = "42 (charla server) S 1 42 42 0 -1 4194560 1 0 0 0 250 37 0 0 20 0 8 0";
        assert_eq!(parse_cpu_ticks(stat), Some(287));
        assert_eq!(parse_cpu_ticks("42 (x) S 1"), None);
    }

    #[test]
    fn vm_rss_is_read_in_bytes() {
        let status = "Name:\tx\nVmPeak:\t  9000 kB\nVmRSS:\t    1234 kB\nThreads:\t1\n";
        assert_eq!(parse_vm_rss(status), Some(1234 * 1024));
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
    }

    #[test]
    fn this_process_has_memory() {
        assert!(rss_bytes(std::process::id()).expect("own status") > 0);
    }
}
